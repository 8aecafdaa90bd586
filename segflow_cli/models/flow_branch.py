"""Flow branch of segflow-lite: coarse-to-fine estimation with a local cost volume and feature warping.

Everything is plain PyTorch (no custom CUDA/C++ op), so it runs wherever torch runs.
Flows are kept in input-resolution pixels at every level; a level of stride s sees flow / s.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def backward_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample x (B, C, h, w) at p + flow(p); flow (B, 2, h, w) in pixels of x's grid. Outside -> 0."""
    b, _, h, w = x.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=x.device, dtype=flow.dtype), torch.arange(w, device=x.device, dtype=flow.dtype), indexing="ij"
    )
    gx = 2.0 * (xs + flow[:, 0]) / max(w - 1, 1) - 1.0
    gy = 2.0 * (ys + flow[:, 1]) / max(h - 1, 1) - 1.0
    return F.grid_sample(x, torch.stack((gx, gy), dim=-1).to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=True)


def local_cost_volume(f1: torch.Tensor, f2: torch.Tensor, radius: int) -> torch.Tensor:
    """Correlation of f1 with f2 shifted by every displacement in [-r, r]^2.

    f1, f2: (B, C, h, w). Returns (B, (2r+1)^2, h, w), mean over channels (scale-free in C).
    A loop of shifted products keeps memory at O(B*C*h*w), unlike unfold.
    """
    _, _, h, w = f1.shape
    f2p = F.pad(f2, (radius, radius, radius, radius))
    costs = [
        (f1 * f2p[:, :, dy : dy + h, dx : dx + w]).mean(dim=1)
        for dy in range(2 * radius + 1)
        for dx in range(2 * radius + 1)
    ]
    return F.leaky_relu(torch.stack(costs, dim=1), 0.1)


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

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.body(x)
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
