"""Backward warping: sample a tensor at positions moved by a flow field (bilinear, zeros outside)."""

from __future__ import annotations

import torch
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
