"""Per-pixel choice between the warm start and the corrected flow, at inference (issue 14, item 2).

The flow branch's correction is learnt at stride 4 and upsampled, and the gates that scale it are smooth:
where DIS already had a pixel to within a pixel the correction still moves it by 1-2 px (on photo pairs
of other photos the network's 1px accuracy is 62 % where its warm start's is 67 %, benchmarks/RESULTS.md
stop 30). So each pixel keeps whichever of the two flows explains the frames better locally: the colour
difference between image1 and image2 warped by that flow, with each window's mean removed (a brightness
change moves both alike) and averaged over the window. Large corrections (at least ``max_change``
pixels) are always kept: they are where the network repairs what DIS lost (fast motion), and there a
small window's colour error often prefers a wrong flow that lands on similar texture.

Not used in training (the loss sees the gated flow; a hard choice passes no gradient to the pixels it
drops). Shapes: images (B, 3, H, W) in [0, 1], flows (B, 2, H, W) in pixels image1 -> image2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...ops import backward_warp


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over each pixel's (2 r + 1)^2 window clipped to the image (pooling: fast on few channels)."""
    return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False)


def local_colour_error(image1: torch.Tensor, image2: torch.Tensor, flow: torch.Tensor, radius: int) -> torch.Tensor:
    """(B, 1, H, W): mean over the (2 radius + 1)^2 window of |d - mean(d)| summed over the colours, d the
    difference between image1 and image2 warped by ``flow``."""
    d = image1 - backward_warp(image2, flow)
    return _box((d - _box(d, radius)).abs().sum(1, keepdim=True), radius)


def select_flow(image1: torch.Tensor, image2: torch.Tensor, flow_init: torch.Tensor, flow: torch.Tensor, *,
                radius: int, max_change: float) -> torch.Tensor:
    """-> (B, 2, H, W): ``flow`` where its local colour error is lower than the warm start's or where it
    differs from the warm start by at least ``max_change`` pixels, else ``flow_init``."""
    if radius < 1 or not max_change > 0:
        raise ValueError(f"flow selection needs radius >= 1 and max_change > 0, got {radius} and {max_change}")
    if flow.shape != flow_init.shape or image1.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"flow selection: images {tuple(image1.shape)}, flows {tuple(flow_init.shape)} and "
                         f"{tuple(flow.shape)} must share (B, H, W)")
    b = flow.shape[0]
    # Both flows' errors in one pass (batch of 2B).
    err = local_colour_error(image1.repeat(2, 1, 1, 1), image2.repeat(2, 1, 1, 1), torch.cat([flow_init, flow]), radius)
    change = flow - flow_init
    keep = (err[b:] < err[:b]) | (torch.hypot(change[:, :1], change[:, 1:]) >= max_change)
    return torch.where(keep, flow, flow_init)
