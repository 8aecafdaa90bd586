"""Per-pixel choice between the warm start and the corrected flow, at inference (issue 14, item 2).

The flow branch's correction is learnt at stride 4 and upsampled, and the gates that scale it are smooth:
where DIS already had a pixel to within a pixel the correction still moves it by 1-2 px (on photo pairs
of other photos the network's 1px accuracy is 62 % where its warm start's is 67 %, benchmarks/RESULTS.md
stop 30). So each pixel keeps whichever of the two flows explains the frames better locally: the grey
difference between image1 and image2 warped by that flow, with each window's mean removed (a brightness
change moves both alike), its magnitude averaged over the window. Large corrections (at least ``max_change``
pixels) are always kept: they are where the network repairs what DIS lost (fast motion), and there a
small window's error often prefers a wrong flow that lands on similar texture; ``max_change`` None keeps
none for their size (a warm start that reaches large motion itself, "dis-match", needs no such pass).

Not used in training (the loss sees the gated flow; a hard choice passes no gradient to the pixels it
drops). Shapes: images (B, 3, H, W) in [0, 1], flows (B, 2, H, W) in pixels image1 -> image2.
"""

from __future__ import annotations

import torch

from ...ops import backward_warp, box_mean_nchw
from ...ops.guided import guided_filter
from ..memory import identity_positions


def _residual(image1: torch.Tensor, image2: torch.Tensor, flows: torch.Tensor, radius: int, *,
              neutral_outside: bool = False) -> torch.Tensor:
    """(1, K, H, W): |d - mean(d)| per pixel, d the grey difference between image1 and image2 warped by each of
    the K flows (K, 2, H, W), the mean over the (2 radius + 1)^2 window (a brightness change moves both alike).

    neutral_outside: a flow that samples outside image2 has no evidence there, so its residual is the mean of
    the candidates that sample inside, and the mean removed counts inside samples only (else an out-of-frame
    sample reads 0 and its large residual counts against the flow)."""
    k, _, h, w = flows.shape
    grey1, grey2 = image1.mean(1, keepdim=True), image2.mean(1, keepdim=True)
    d = (grey1 - backward_warp(grey2.expand(k, -1, -1, -1), flows)).reshape(1, k, h, w)  # maps as channels (box_mean_nchw)
    if not neutral_outside:
        return (d - box_mean_nchw(d, radius)).abs()
    to = identity_positions(h, w, device=flows.device, dtype=flows.dtype) + flows  # (K, 2, H, W): each sample's place
    x, y = to[:, 0], to[:, 1]
    inside = ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).to(d.dtype)[None]  # (1, K, H, W)
    d = d * inside
    res = (d - box_mean_nchw(d, radius) / box_mean_nchw(inside, radius).clamp_min(1e-6)).abs() * inside
    neutral = res.sum(1, keepdim=True) / inside.sum(1, keepdim=True).clamp_min(1.0)
    return torch.where(inside > 0, res, neutral)


def local_error(image1: torch.Tensor, image2: torch.Tensor, flows: torch.Tensor, radius: int) -> torch.Tensor:
    """(1, K, H, W): for each of the K flows (K, 2, H, W) of one pair (images (1, 3, H, W)), the mean over
    the (2 radius + 1)^2 window of |d - mean(d)|, d the grey difference between image1 and image2 warped by
    that flow. (Grey, not the three colours: the same choices on the photo pairs, a third of the time.)"""
    return box_mean_nchw(_residual(image1, image2, flows, radius), radius)


def filtered_error(image1: torch.Tensor, image2: torch.Tensor, flows: torch.Tensor, radius: int, *,
                   guide_radius: int, eps: float) -> torch.Tensor:
    """(K, H, W): each of the K flows' per-pixel residual (``_residual``, out-of-frame samples neutral)
    aggregated by a guided filter (ops.guided_filter, radius ``guide_radius``, ``eps``) with image1's grey as
    the guide instead of a box: cost-volume filtering (Hosni et al., CVPR 2011).

    Why: a box small enough to stay on one side of an object's edge is too small for flat or repeated texture,
    where every candidate explains the frames about as well and the choice is near random; an edge-aware window
    can be large without crossing the edge (issue 14: dis-match's choice between its candidates). Out-of-frame
    samples are neutral because the large window would otherwise carry the right flow's out-of-frame residual
    tens of pixels into the frame near a border the camera moves across (a pan's 50 px band went to the wrong
    candidate). Grey guide, not colour: the same EPE on the photo pairs (within 0.2 %) in half the time (60 vs
    120-200 ms for three flows at 1024x436). Figures: benchmarks/RESULTS.md, stop 43."""
    res = _residual(image1, image2, flows, radius, neutral_outside=True)
    return guided_filter(res[0], image1.mean(1)[0], radius=guide_radius, eps=eps)


def select_flow(image1: torch.Tensor, image2: torch.Tensor, flow_init: torch.Tensor, flow: torch.Tensor, *,
                radius: int, max_change: float | None) -> torch.Tensor:
    """-> (B, 2, H, W): ``flow`` where its local error is lower than the warm start's or where it differs
    from the warm start by at least ``max_change`` pixels (None: never for its size), else ``flow_init``."""
    if radius < 1 or (max_change is not None and not max_change > 0):
        raise ValueError(f"flow selection needs radius >= 1 and max_change > 0 or None, got {radius} and {max_change}")
    if flow.shape != flow_init.shape or image1.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"flow selection: images {tuple(image1.shape)}, flows {tuple(flow_init.shape)} and "
                         f"{tuple(flow.shape)} must share (B, H, W)")
    out = []
    for i in range(flow.shape[0]):  # one pair at a time: its two flows are the two channels of one image
        init, corrected = flow_init[i:i + 1], flow[i:i + 1]
        err = local_error(image1[i:i + 1], image2[i:i + 1], torch.cat([init, corrected]), radius)
        change = corrected - init
        keep = err[:, 1:] < err[:, :1]
        if max_change is not None:
            keep |= torch.hypot(change[:, :1], change[:, 1:]) >= max_change
        out.append(torch.where(keep, corrected, init))
    return torch.cat(out).contiguous()
