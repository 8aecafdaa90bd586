"""Segmentation branch of segflow-lite: an FPN-style decoder over the trunk features.

It reads fused flow features at the fusion strides and, per tracked object, a mask prior (the
previous mask warped by flow). Objects are folded into the batch, so the trunk runs once per frame.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


GAIN_SCALE = 200.0
GATE_BIAS = -4.0  # sigmoid(-4) = 0.018: the correction starts almost off


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SegDecoder(nn.Module):
    """Top-down decoder from stride 32 to stride 4 with prior and flow-feature inputs.

    forward(trunk, fused, prior, objects):
      trunk {s: (B, C_s, H/s, W/s)} for s in (4, 8, 16, 32); fused {s: (B, F, H/s, W/s)} at fusion
      strides; prior (B*K, 1, H, W) in [0, 1] (objects folded into the batch, K = ``objects``);
      match (B*K, match_channels, H/8, W/8), the last channel fg - bg, or None (no reference: that
      input contributes nothing); warp (B*K, 1, H, W) the flow-warped prior when ``prior`` is a memory
      readout, or None.
    Returns (logits, gate): logits (B*K, 1, H/4, W/4) and, when built with ``gate``, the gate logits of
    the same shape (else None).
    """

    def __init__(
        self, *, trunk_channels: dict[int, int], fusion_strides: tuple[int, ...], fusion_channels: int, width: int = 64,
        match_channels: int = 0, match_skip: bool = False, warp_input: bool = False, gate: bool = False,
    ) -> None:
        super().__init__()
        self.fusion_strides = tuple(fusion_strides)
        self.lateral = nn.ModuleDict()
        for s, c in trunk_channels.items():
            extra = fusion_channels if s in self.fusion_strides else 0
            self.lateral[str(s)] = nn.Conv2d(c + extra, width, 1)
        # The prior enters at every decoder stride <= 16 through its own small encoder.
        self.prior_enc = nn.ModuleDict({str(s): nn.Conv2d(1, width, 3, 1, 1) for s in (4, 8, 16)})
        # Matching scores enter the same way; zero-initialised so adding them to trained weights
        # starts from exactly the network without them.
        self.match_enc = nn.ModuleDict(
            {str(s): nn.Conv2d(match_channels, width, 3, 1, 1, bias=False) for s in (4, 8, 16)} if match_channels else {})
        for conv in self.match_enc.values():
            nn.init.zeros_(conv.weight)
        # ... and, like the prior, as a direct logit term: gain * (fg - bg score). A lost prior puts
        # about -prior_gain logits on the object, which this term can outweigh. The gain starts at
        # zero and is stored divided by GAIN_SCALE: Adam moves a parameter by about lr a step, and
        # the gain has to travel to the order of the prior's gain within a few hundred steps.
        self.match_gain = nn.Parameter(torch.zeros(())) if match_channels and match_skip else None
        # With a space-time memory the prior is the memory readout; the flow-warped prior then enters
        # beside it through its own encoder (zero-initialised: the network starts as without it).
        self.warp_enc = nn.ModuleDict({str(s): nn.Conv2d(1, width, 3, 1, 1, bias=False) for s in (4, 8, 16)} if warp_input else {})
        for conv in self.warp_enc.values():
            nn.init.zeros_(conv.weight)
        self.smooth = nn.ModuleDict({str(s): _conv_bn(width, width) for s in (4, 8, 16)})
        self.head = nn.Sequential(_conv_bn(width, width // 2), nn.Conv2d(width // 2, 1, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        # With a memory readout the output is readout + gate * correction (model.py): the gate says
        # per pixel how far to trust the decoder over the readout. Zero weights and a negative bias
        # start it nearly closed, so a network trained before it starts as the readout alone.
        self.gate = nn.Conv2d(width, 1, 3, 1, 1) if gate else None
        if self.gate is not None:
            nn.init.zeros_(self.gate.weight)
            nn.init.constant_(self.gate.bias, GATE_BIAS)

    def forward(self, trunk, fused, prior: torch.Tensor, objects: int, match: torch.Tensor | None = None,
                warp: torch.Tensor | None = None) -> torch.Tensor:
        def lat(s: int) -> torch.Tensor:
            x = torch.cat([trunk[s], fused[s]], 1) if s in self.fusion_strides else trunk[s]
            return self.lateral[str(s)](x).repeat_interleave(objects, dim=0)

        x = lat(32)
        for s in (16, 8, 4):
            y = lat(s)
            x = F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=False) + y
            x = x + self.prior_enc[str(s)](F.adaptive_avg_pool2d(prior * 2.0 - 1.0, y.shape[-2:]))
            if match is not None and self.match_enc:
                m = F.interpolate(match, size=y.shape[-2:], mode="bilinear", align_corners=False) if s == 4 else (
                    F.adaptive_avg_pool2d(match, y.shape[-2:]))
                x = x + self.match_enc[str(s)](m)
            if warp is not None and self.warp_enc:
                x = x + self.warp_enc[str(s)](F.adaptive_avg_pool2d(warp * 2.0 - 1.0, y.shape[-2:]))
            x = self.smooth[str(s)](x)
        logits = self.head(x)
        gate = None if self.gate is None else self.gate(x)
        if match is not None and self.match_gain is not None:
            diff = F.interpolate(match[:, -1:], size=logits.shape[-2:], mode="bilinear", align_corners=False)
            logits = logits + GAIN_SCALE * self.match_gain * diff
        return logits, gate
