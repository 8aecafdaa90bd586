"""Flow branch of segflow-lite: coarse-to-fine estimation with a local cost volume and feature warping.

Everything is plain PyTorch (no custom CUDA/C++ op), so it runs wherever torch runs; the warp and
the cost volume are shared ops (segflow_cli.ops).
Flows are kept in input-resolution pixels at every level; a level of stride s sees flow / s.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...ops import backward_warp, box_mean, local_cost_volume


class FlowEstimator(nn.Module):
    """One pyramid level: (cost, features, flow, context) -> (residual flow in level pixels, level features)."""

    def __init__(self, *, in_channels: int, hidden: int = 96, out_features: int = 32) -> None:
        super().__init__()
        act = lambda: nn.LeakyReLU(0.1, inplace=True)  # noqa: E731
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, 1, 1), act(),
            nn.Conv2d(hidden, hidden * 2 // 3, 3, 1, 1), act(),
            nn.Conv2d(hidden * 2 // 3, out_features, 3, 1, 1), act(),
        )
        self.head = nn.Conv2d(out_features, 2, 3, 1, 1)
        # Zero-init: an untrained level leaves the incoming flow unchanged (exactly flow_init when given).
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    bf16_cpu = False  # the body's convolutions run in bf16 (inference copies, PyramidFlowDecoder.bf16_copy)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.body(x.to(torch.bfloat16)).float() if self.bf16_cpu else self.body(x)
        return self.head(feat), feat


class PyramidFlowDecoder(nn.Module):
    """Coarse-to-fine decoder over levels at strides ``strides`` (coarse first, e.g. 32, 16, 8, 4).

    forward(feats1, feats2, fused, flow_init) with feats*[s] (B, C_s, H/s, W/s) keyed by stride,
    fused[s] (B, fusion_channels, H/s, W/s) from the segmentation side (only at fusion strides),
    flow_init: None or (B, 2, H, W). Returns (flows per level coarse->fine in input pixels,
    decoder features per level keyed by stride for the flow->seg fusion).
    """

    def __init__(
        self, *, feat_channels: dict[int, int], strides: tuple[int, ...], corr_radius: int,
        fusion_strides: tuple[int, ...], fusion_channels: int, feature_channels: int = 32,
    ) -> None:
        super().__init__()
        self.strides, self.radius, self.fusion_strides = tuple(strides), corr_radius, tuple(fusion_strides)
        ncorr = (2 * corr_radius + 1) ** 2
        self.levels = nn.ModuleDict()
        for i, s in enumerate(self.strides):
            cin = ncorr + feat_channels[s] + 2 + (feature_channels if i > 0 else 0)
            cin += fusion_channels if s in self.fusion_strides else 0
            self.levels[str(s)] = FlowEstimator(in_channels=cin, out_features=feature_channels)

    def bf16_copy(self) -> "PyramidFlowDecoder":
        """An inference copy whose levels run their bodies (the three hidden convolutions, most of the
        decoder's time) in bf16 with bf16 weights; each level's input, its features and its flow head stay
        fp32, so flows keep full precision. On AMD Zen 4 (AVX512-BF16) 46 ms less a 1024x436 pair, flow
        within 1e-4 px on average of fp32's (benchmarks/RESULTS.md, stop 31). Never trained or saved."""
        out = copy.deepcopy(self)
        for level in out.levels.values():
            level.body.to(torch.bfloat16)
            level.bf16_cpu = True
        return out

    def forward(self, feats1, feats2, fused, flow_init=None):
        b, _, h0, w0 = feats1[self.strides[0]].shape
        s0 = self.strides[0]
        delta = feats1[s0].new_zeros(b, 2, h0, w0)  # learned correction on top of the init, input pixels
        prev_feat, flows, level_feats = None, [], {}
        for i, s in enumerate(self.strides):
            f1, f2 = feats1[s], feats2[s]
            if i > 0:
                delta = F.interpolate(delta, size=f1.shape[-2:], mode="bilinear", align_corners=False)
                prev_feat = F.interpolate(prev_feat, size=f1.shape[-2:], mode="bilinear", align_corners=False)
            init = 0.0 if flow_init is None else F.adaptive_avg_pool2d(flow_init, f1.shape[-2:])
            flow = init + delta
            cost = local_cost_volume(f1, backward_warp(f2, flow / s), self.radius)
            parts = [cost, f1, flow / s] + ([prev_feat] if i > 0 else []) + ([fused[s]] if s in self.fusion_strides else [])
            residual, prev_feat = self.levels[str(s)](torch.cat(parts, dim=1))
            delta = delta + residual * s
            flows.append(init + delta)
            level_feats[s] = prev_feat
        return flows, level_feats, delta


def residual_gate(image1: torch.Tensor, image2: torch.Tensor, flow_init: torch.Tensor, *, scale: float,
                  radius: int = 3) -> torch.Tensor:
    """How much of the learnt correction to apply on top of a warm start: (B, 1, H, W) in [0, 1].

    image1, image2 (B, 3, H, W) in [0, 1], flow_init (B, 2, H, W) image1 -> image2 in pixels. The gate is
    min(1, e / scale), e the mean absolute colour difference (0-255 levels) between image1 and image2
    warped by the warm start, averaged over a (2 radius + 1)^2 box. Why: where the warm start already
    explains the pair (e near 0: no motion, a pure translation DIS gets right) the network's residual
    can only add error, and on real pairs it did (Sintel final, chairs: benchmarks/RESULTS.md, stop 24);
    where the warm start fails the colours disagree and the correction passes. Pixels warped from
    outside image2 read as black, so the gate opens there (the warm start is unsupported).
    """
    if not scale > 0:
        raise ValueError(f"the residual gate's scale must be > 0, got {scale}")
    diff = (image1 - backward_warp(image2, flow_init)).abs().mean(1, keepdim=True) * 255.0
    return (box_mean(diff, radius) / scale).clamp(max=1.0)
