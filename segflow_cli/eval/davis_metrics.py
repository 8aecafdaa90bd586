"""Region similarity J and boundary accuracy F, exactly as davis2017-evaluation computes them
(``davis2017/metrics.py`` and ``utils.db_statistics``), plus the per-sequence statistics.

All masks are (H, W) arrays; anything non-zero is the object. Per-frame values are float64 in [0, 1].
"""

from __future__ import annotations

import math
import warnings

import cv2
import numpy as np

BOUND_TH = 0.008  # boundary tolerance: a fraction of the image diagonal (or pixels when >= 1)


def region_similarity(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """J: intersection over union of two (H, W) masks; 1 when both are empty (the toolkit's rule)."""
    if gt.shape != pred.shape:
        raise ValueError(f"mask shapes differ: {gt.shape} vs {pred.shape}")
    g, p = gt.astype(bool), pred.astype(bool)
    keep = ~void.astype(bool) if void is not None else np.ones_like(g)
    inter = np.sum(g & p & keep)
    union = np.sum((g | p) & keep)
    return 1.0 if np.isclose(union, 0) else float(inter / union)


def disk(radius: float) -> np.ndarray:
    """The toolkit's tolerance disk: skimage.morphology.disk(radius) as uint8 (imported on first use:
    skimage.morphology takes seconds to import)."""
    from skimage.morphology import disk as skimage_disk

    return skimage_disk(radius).astype(np.uint8)


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """One-pixel boundary map of a mask (D. Martin's seg2bmap, offset half a pixel towards the origin):
    (H, W) -> (H, W) bool."""
    s = seg.astype(bool)
    e = np.zeros_like(s)
    so = np.zeros_like(s)
    se = np.zeros_like(s)
    e[:, :-1] = s[:, 1:]
    so[:-1, :] = s[1:, :]
    se[:-1, :-1] = s[1:, 1:]
    b = s ^ e | s ^ so | s ^ se
    b[-1, :] = s[-1, :] ^ e[-1, :]
    b[:, -1] = s[:, -1] ^ so[:, -1]
    b[-1, -1] = 0
    return b


def boundary_f(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None,
               bound_th: float = BOUND_TH) -> float:
    """F: boundary F-measure of ``pred`` against ``gt`` with a tolerance disk of radius
    ceil(bound_th * diagonal) px (bound_th >= 1: that many px). Edge cases as the toolkit:
    no predicted boundary -> P=1, R=0; no true boundary -> P=0, R=1; neither -> 1."""
    if gt.shape != pred.shape:
        raise ValueError(f"mask shapes differ: {gt.shape} vs {pred.shape}")
    keep = ~void.astype(bool) if void is not None else np.ones(gt.shape, dtype=bool)
    bound_pix = bound_th if bound_th >= 1 else math.ceil(bound_th * np.linalg.norm(pred.shape))
    fg_b = seg2bmap(pred.astype(bool) & keep)
    gt_b = seg2bmap(gt.astype(bool) & keep)
    kernel = disk(bound_pix)
    fg_dil = cv2.dilate(fg_b.astype(np.uint8), kernel)
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel)
    n_fg, n_gt = int(fg_b.sum()), int(gt_b.sum())
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = float(np.sum(fg_b & (gt_dil > 0))) / n_fg
        recall = float(np.sum(gt_b & (fg_dil > 0))) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def db_statistics(values) -> tuple[float, float, float]:
    """(Mean, Recall, Decay) of per-frame values, as davis2017-evaluation's db_statistics:
    Recall = fraction of frames > 0.5 (NaN frames count as misses); Decay = mean of the first
    quarter minus mean of the last, with its binning (bins overlap by one frame). The toolkit keeps
    the bin bounds in uint8, which wraps past 256 frames; here they are plain integers."""
    v = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        mean = np.nanmean(v)
        recall = np.nanmean(v > 0.5)
        ids = (np.round(np.linspace(1, len(v), 5) + 1e-10) - 1).astype(np.int64)
        bins = [v[ids[i]:ids[i + 1] + 1] for i in range(4)]
        decay = np.nanmean(bins[0]) - np.nanmean(bins[3])
    return float(mean), float(recall), float(decay)
