"""Bidirectional feature fusion between the branches (the core idea of SegFlow).

seg -> flow: segmentation trunk features of image1 are projected and concatenated into the flow
decoder, so object boundaries inform motion boundaries. flow -> seg: flow decoder features (and the
flow itself) are projected and concatenated into the segmentation decoder, so motion cues help to
separate the object. Each direction is one small adapter per fusion stride, and gradients of each
task reach the other branch through it.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class FusionAdapter(nn.Module):
    """1x1 projection to a common width: (B, C_in, h, w) -> (B, C_out, h, w)."""

    def __init__(self, *, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.LeakyReLU(0.1, inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class BidirectionalFusion(nn.Module):
    """Adapters for both directions at every fusion stride.

    seg_to_flow(trunk_feats) takes {stride: (B, C_s, H/s, W/s)} and returns {stride: (B, F, H/s, W/s)}.
    flow_to_seg(level_feats, flows) takes the flow decoder's {stride: (B, Cf, H/s, W/s)} features and
    {stride: (B, 2, H/s, W/s)} flows in input pixels, and returns {stride: (B, F, H/s, W/s)}.
    """

    def __init__(
        self, *, strides: tuple[int, ...], trunk_channels: dict[int, int], flow_feature_channels: int, channels: int
    ) -> None:
        super().__init__()
        self.strides = tuple(strides)
        self.to_flow = nn.ModuleDict(
            {str(s): FusionAdapter(in_channels=trunk_channels[s], out_channels=channels) for s in self.strides}
        )
        self.to_seg = nn.ModuleDict(
            {str(s): FusionAdapter(in_channels=flow_feature_channels + 2, out_channels=channels) for s in self.strides}
        )

    def seg_to_flow(self, trunk_feats: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        return {s: self.to_flow[str(s)](trunk_feats[s]) for s in self.strides}

    def flow_to_seg(self, level_feats: dict[int, torch.Tensor], flows: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        # Flow enters in level pixels scaled down further, so magnitudes stay O(1) at every stride.
        return {s: self.to_seg[str(s)](torch.cat([level_feats[s], flows[s] / (4.0 * s)], dim=1)) for s in self.strides}
