"""First-frame masks from prompts instead of a painted file: boxes (GrabCut seeded by each box).

    mask = mask_from_boxes(frame, [(x0, y0, x1, y1), ...])   # object ids 1, 2, ... in box order

GrabCut (OpenCV) models the box's inside and outside with colour mixtures and cuts along edges; it
needs no network and no GUI. Boxes that overlap give the pixel to the later box's object only where
its own cut claims it. GrabCut starts its colour models from k-means on OpenCV's global RNG, so each
object's cut first seeds it (``cv2.setRNGSeed``): a prompt gives the same mask whatever ran before,
and a caller's own use of that RNG is reseeded.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import SegflowError


def parse_box(text: str) -> tuple[int, int, int, int]:
    """'X0,Y0,X1,Y1' -> ints, with a one-line error naming the box."""
    try:
        x0, y0, x1, y1 = (int(round(float(v))) for v in text.split(","))
    except ValueError:
        raise SegflowError(f"box {text!r}: expected X0,Y0,X1,Y1 in pixels of the first frame, e.g. 120,40,380,300") from None
    return x0, y0, x1, y1


def mask_from_boxes(frame: np.ndarray, boxes, *, iterations: int = 5, max_side: int = 640) -> np.ndarray:
    """frame (H, W, 3) uint8 RGB, boxes [(x0, y0, x1, y1)] in pixels -> (H, W) uint8 ids 1..len(boxes).
    GrabCut runs with the longer side at most ``max_side`` (seconds at 720p otherwise); the mask is
    returned at the frame's size."""
    full_h, full_w = frame.shape[:2]
    scale = min(1.0, max_side / max(full_h, full_w))
    if scale < 1.0:
        small = cv2.resize(frame, (round(full_w * scale), round(full_h * scale)), interpolation=cv2.INTER_AREA)
        boxes = [tuple(int(round(v * scale)) for v in b) for b in boxes]
        ids = mask_from_boxes(small, boxes, iterations=iterations, max_side=max_side)
        return cv2.resize(ids, (full_w, full_h), interpolation=cv2.INTER_NEAREST)
    h, w = frame.shape[:2]
    out = np.zeros((h, w), np.uint8)
    bgr = np.ascontiguousarray(frame[..., ::-1])
    for oid, (x0, y0, x1, y1) in enumerate(boxes, start=1):
        x0, x1 = sorted((max(0, x0), min(w, x1)))
        y0, y1 = sorted((max(0, y0), min(h, y1)))
        if x1 - x0 < 4 or y1 - y0 < 4:
            raise SegflowError(f"box {oid} ({x0},{y0},{x1},{y1}) is smaller than 4x4 pixels inside the {w}x{h} frame; "
                               "give X0,Y0,X1,Y1 in pixels of the first frame")
        gc = np.zeros((h, w), np.uint8)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(oid)  # GrabCut's colour models start from k-means on OpenCV's global RNG: same box, same mask
        cv2.grabCut(bgr, gc, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
        fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
        if n > 1:  # keep the largest piece and any piece at least a tenth of it (drops speckle)
            areas = stats[1:, cv2.CC_STAT_AREA]
            keep = 1 + np.flatnonzero(areas >= 0.1 * areas.max())
            fg = np.isin(labels, keep)
        if not fg.any():  # GrabCut found nothing: the box itself is the best guess
            fg = np.zeros((h, w), bool)
            fg[y0:y1, x0:x1] = True
        out[fg] = oid
    return out


def parse_point(text: str) -> tuple[int, int]:
    """'X,Y' -> ints, with a one-line error naming the point."""
    try:
        x, y = (int(round(float(v))) for v in text.split(","))
    except ValueError:
        raise SegflowError(f"point {text!r}: expected X,Y in pixels of the first frame, e.g. 240,160") from None
    return x, y


def mask_from_points(frame: np.ndarray, points, embed, *, similarity: float = 0.75, iterations: int = 5,
                     max_side: int = 640) -> np.ndarray:
    """frame (H, W, 3) uint8 RGB, points [(x, y)] (a positive click inside each object) -> (H, W) uint8
    ids 1..len(points).

    ``embed(frame) -> (C, h, w)`` unit-norm features (the network's memory key). The cells whose
    features resemble the clicked cell's (cosine >= ``similarity``) and connect to it are the
    object's probable region; GrabCut, initialised with the click as certain foreground, that region
    as probable foreground and the rest as probable background, cuts it along the image's edges."""
    import torch

    full_h, full_w = frame.shape[:2]
    for x, y in points:
        if not (0 <= x < full_w and 0 <= y < full_h):
            raise SegflowError(f"point {x},{y} lies outside the {full_w}x{full_h} frame; give X,Y in pixels of the first frame")
    scale = min(1.0, max_side / max(full_h, full_w))
    small = cv2.resize(frame, (round(full_w * scale), round(full_h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else frame
    h, w = small.shape[:2]
    emb = embed(small)
    if isinstance(emb, torch.Tensor):
        emb = emb.float().cpu().numpy()
    c, eh, ew = emb.shape
    out = np.zeros((h, w), np.uint8)
    bgr = np.ascontiguousarray(small[..., ::-1])
    for oid, (x, y) in enumerate(points, start=1):
        sx, sy = min(w - 1, int(x * scale)), min(h - 1, int(y * scale))
        cx, cy = min(ew - 1, sx * ew // w), min(eh - 1, sy * eh // h)
        sim = np.tensordot(emb[:, cy, cx], emb, axes=(0, 0))  # (eh, ew)
        region = (sim >= similarity).astype(np.uint8)
        _, labels = cv2.connectedComponents(region, connectivity=8)
        region = (labels == labels[cy, cx]).astype(np.uint8)
        region = cv2.resize(region, (w, h), interpolation=cv2.INTER_NEAREST)
        gc = np.where(region > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
        cv2.circle(gc, (sx, sy), max(2, min(h, w) // 60), int(cv2.GC_FGD), -1)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(oid)  # as for boxes: the same click gives the same mask
        cv2.grabCut(bgr, gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
        fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
        _, labels = cv2.connectedComponents(fg, connectivity=8)
        fg = labels == labels[sy, sx]  # the piece holding the click
        out[fg & (out == 0)] = oid
    return cv2.resize(out, (full_w, full_h), interpolation=cv2.INTER_NEAREST) if scale < 1 else out
