"""Guided filter (He, Sun, Tang, ECCV 2010 / TPAMI 2013): edge-aware smoothing of a map by an image.

The memory readout lives on the stride-8 key grid; bilinear upsampling leaves its object edges 8 px
soft wherever they fall. Filtering the upsampled probabilities with the frame as guide makes each
output a local linear function of the image, q = a I + b, fitted to the probabilities in a
(2 r + 1)^2 window, so an edge of the probabilities snaps to the image edge inside that window.

With a colour guide a is a 3-vector per pixel; with ``scale`` the fits are made on a smaller grid
and applied at full size (a and b vary slowly; the image carries the detail), which is also what
lets a thin object whose pooled probability never reaches 1/2 come out whole: the fit on its cell
maps its colour to the object.

Box means use cumulative sums (O(1) per pixel, any radius) and are normalised by the window's size
inside the image, so borders are not darkened. Shapes: maps (V, H, W), guide (H, W) or (3, H, W).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _box_1d(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """Sum over a window of radius r along ``dim`` (clipped at the ends): differences of a cumulative
    sum padded with its first (0) and last values, so every output is one slice minus another."""
    n = x.shape[dim]
    c = torch.cumsum(x, dim)
    edge = lambda t, m: t.expand(*[m if i == dim % x.dim() else -1 for i in range(x.dim())])  # noqa: E731
    c = torch.cat([edge(torch.zeros_like(c.narrow(dim, 0, 1)), r + 1), c, edge(c.narrow(dim, n - 1, 1), r)], dim)
    return c.narrow(dim, 2 * r + 1, n) - c.narrow(dim, 0, n)


def box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """(..., H, W) -> the mean over each pixel's (2 r + 1)^2 window, clipped to the image.

    On the CPU (float32, no gradient) OpenCV's running-sum box filter does it, one map at a time: 3x faster
    than the cumulative sums at 1024x436 (21 maps, radius 17: 57 vs 177 ms; equal within 2e-6): dis-match's
    full-resolution guided filter pays it on every pair (the edge refinement's, at 1/8 scale, costs the same)."""
    h, w = x.shape[-2:]
    if x.device.type == "cpu" and x.dtype == torch.float32 and not x.requires_grad and r >= 1 and h * w > 0:
        return _box_mean_cv2(x, r)
    count = _box_1d(x.new_ones(h), r, 0)[:, None] * _box_1d(x.new_ones(w), r, 0)[None, :]
    return _box_1d(_box_1d(x, r, -1), r, -2) / count


def _box_mean_cv2(x: torch.Tensor, r: int) -> torch.Tensor:
    import cv2

    h, w = x.shape[-2:]
    maps = x.detach().reshape(-1, h, w).contiguous().numpy()
    out = np.empty_like(maps)
    size = (2 * r + 1, 2 * r + 1)
    for src, dst in zip(maps, out):  # sums with zeros outside, then / the in-image count: the clipped window
        cv2.boxFilter(src, -1, size, dst=dst, normalize=False, borderType=cv2.BORDER_CONSTANT)
    count = _box_1d(torch.ones(h), r, 0)[:, None] * _box_1d(torch.ones(w), r, 0)[None, :]
    return (torch.from_numpy(out) / count).reshape(x.shape)


def box_mean_nchw(x: torch.Tensor, r: int) -> torch.Tensor:
    """(B, C, H, W) -> box_mean's clipped window means, channels-last, for small radii: two depthwise 1-D
    convolutions on a channels-last tensor (one oneDNN call each on the CPU: 2 ms for 6 channels at
    1024x448 where avg_pool2d takes 28 and the cumulative sums 14), zero-padded, divided by the window's
    in-image size. Work grows with r (box_mean's does not). oneDNN is slow on a single channel: stack the
    maps of one image as channels."""
    c, h, w = x.shape[1:]
    ones = x.new_ones((c, 1, 1, 2 * r + 1))
    s = F.conv2d(x.contiguous(memory_format=torch.channels_last), ones, padding=(0, r), groups=c)
    s = F.conv2d(s, ones.transpose(2, 3), padding=(r, 0), groups=c)
    return s / (_box_1d(x.new_ones(h), r, 0)[:, None] * _box_1d(x.new_ones(w), r, 0)[None, :])


def guided_filter(maps: torch.Tensor, guide: torch.Tensor, *, radius: int, eps: float, scale: int = 1) -> torch.Tensor:
    """maps (V, H, W), guide (H, W) grey or (3, H, W) colour image in [0, 1] -> (V, H, W) filtered maps
    (same dtype). A colour guide fits q = a . I + b with a 3-vector a per pixel (He et al.'s colour
    filter: edges between colours of equal brightness still steer the output).

    eps: regularisation of the local fit (a variance, in guide units squared): edges with a local
    contrast well above sqrt(eps) steer the output, flatter texture only smooths it.
    scale: fit a, b on a ``scale`` x smaller grid (radius / scale there) and apply them, upsampled, at
    full resolution (the "fast guided filter", He & Sun 2015): about scale^2 less work."""
    colour = guide.dim() == 3
    if maps.dim() != 3 or guide.shape[-2:] != maps.shape[-2:] or (colour and guide.shape[0] != 3):
        raise ValueError(f"guided_filter: maps (V, H, W) and a guide (H, W) or (3, H, W) of the same size, got "
                         f"{tuple(maps.shape)} and {tuple(guide.shape)}")
    if radius < 1:
        return maps
    h, w = maps.shape[-2:]
    g_full = (guide.float() if colour else guide.float()[None]) - 0.5  # centred: the variances keep precision
    p, g = maps.float(), g_full
    if scale > 1:
        small = (max(1, -(-h // scale)), max(1, -(-w // scale)))
        p = F.interpolate(p[None], size=small, mode="area")[0]
        g = F.interpolate(g[None], size=small, mode="area")[0]
        radius = max(1, round(radius / scale))
    a, b = (_fit_colour if colour else _fit_grey)(p, g, radius, eps)
    ab = box_mean(torch.cat([a.flatten(0, 1) if colour else a, b]), radius)
    if scale > 1:
        ab = F.interpolate(ab[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    v = maps.shape[0]
    if colour:
        am = ab[:3 * v].reshape(v, 3, h, w)
        out = (am * g_full[None]).sum(1) + ab[3 * v:]
    else:
        out = ab[:v] * g_full + ab[v:]
    return out.to(maps.dtype)


def _fit_grey(p: torch.Tensor, g: torch.Tensor, r: int, eps: float):
    """p (V, h, w), g (1, h, w) -> a (V, h, w), b (V, h, w) of the local fits q = a g + b."""
    v = p.shape[0]
    means = box_mean(torch.cat([g, g * g, p, g * p]), r)  # one pass over all the window means
    mean_g, mean_gg, mean_p, mean_gp = means[:1], means[1:2], means[2:2 + v], means[2 + v:]
    a = (mean_gp - mean_g * mean_p) / (mean_gg - mean_g * mean_g + eps)
    return a, mean_p - a * mean_g


_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def _fit_colour(p: torch.Tensor, g: torch.Tensor, r: int, eps: float):
    """p (V, h, w), g (3, h, w) -> a (V, 3, h, w), b (V, h, w) of q = a . g + b: a = (S + eps)^-1 cov(g, p)
    with S each window's 3 x 3 colour covariance, inverted in closed form (adjugate / determinant)."""
    v = p.shape[0]
    gg = torch.stack([g[i] * g[j] for i, j in _PAIRS])
    gp = (g[None] * p[:, None]).flatten(0, 1)  # (V * 3, h, w)
    means = box_mean(torch.cat([g, gg, p, gp]), r)
    mg, mgg, mp, mgp = means[:3], means[3:9], means[9:9 + v], means[9 + v:].reshape(v, 3, *p.shape[-2:])
    s00, s01, s02, s11, s12, s22 = (mgg[k] - mg[i] * mg[j] for k, (i, j) in enumerate(_PAIRS))
    s00, s11, s22 = s00 + eps, s11 + eps, s22 + eps
    c00, c01, c02 = s11 * s22 - s12 * s12, s02 * s12 - s01 * s22, s01 * s12 - s02 * s11
    c11, c12, c22 = s00 * s22 - s02 * s02, s01 * s02 - s00 * s12, s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    cov = mgp - mg[None] * mp[:, None]  # (V, 3, h, w)
    x, y, z = cov[:, 0], cov[:, 1], cov[:, 2]
    a = torch.stack([c00 * x + c01 * y + c02 * z, c01 * x + c11 * y + c12 * z, c02 * x + c12 * y + c22 * z], 1) / det
    return a, mp - (a * mg[None]).sum(1)
