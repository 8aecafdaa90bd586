"""Optical-flow accuracy over valid pixels: end-point error, 1/3/5 px accuracy and KITTI Fl-all.

Flows are (H, W, 2) float32 in pixels (u right, v down); ``valid`` is (H, W) bool. Ground-truth
values that are not finite or larger than 1e9 (Middlebury's "unknown flow") are never valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import SegflowError

UNKNOWN_FLOW = 1e9


@dataclass(frozen=True)
class PairErrors:
    """Per-pair scores. epe: mean end-point error (px); acc1/3/5: fraction of pixels with EPE below
    1/3/5 px; fl_all: KITTI outlier fraction (EPE > 3 px and > 5 % of the true flow's length);
    n_valid: pixels scored; n_acc1/3/5, n_outliers: their counts (for pooling)."""

    epe: float
    acc1: float
    acc3: float
    acc5: float
    fl_all: float
    n_valid: int
    n_acc1: int
    n_acc3: int
    n_acc5: int
    n_outliers: int


def flow_errors(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> PairErrors:
    """Score ``pred`` against ``gt`` over the valid pixels (all where ``valid`` is None)."""
    if pred.shape != gt.shape or gt.ndim != 3 or gt.shape[2] != 2:
        raise SegflowError(f"flow shapes differ or are not (H, W, 2): prediction {pred.shape}, truth {gt.shape}")
    ok = np.isfinite(gt).all(axis=2) & (np.abs(gt) < UNKNOWN_FLOW).all(axis=2)
    if valid is not None:
        ok &= valid.astype(bool)
    n = int(ok.sum())
    if n == 0:
        raise SegflowError("no valid ground-truth pixel to score; check the invalid/occlusion masks")
    d = pred[ok].astype(np.float64) - gt[ok].astype(np.float64)
    epe = np.sqrt((d ** 2).sum(axis=1))
    mag = np.sqrt((gt[ok].astype(np.float64) ** 2).sum(axis=1))
    counts = [int((epe < t).sum()) for t in (1.0, 3.0, 5.0)]
    outliers = int(((epe > 3.0) & (epe > 0.05 * mag)).sum())
    return PairErrors(float(epe.mean()), counts[0] / n, counts[1] / n, counts[2] / n, outliers / n, n,
                      counts[0], counts[1], counts[2], outliers)


def summarize_flow(errors: Sequence[PairErrors]) -> dict[str, float]:
    """Dataset figures: EPE is the mean of the per-pair EPEs (as Sintel/Middlebury tables and the
    shared reference report it); 1/3/5 px accuracy and Fl-all pool every valid pixel of every pair
    (as the KITTI devkit counts outliers)."""
    if not errors:
        raise SegflowError("no flow pairs were scored")
    total = sum(e.n_valid for e in errors)
    return {
        "EPE": float(np.mean([e.epe for e in errors])),
        "1px": sum(e.n_acc1 for e in errors) / total,
        "3px": sum(e.n_acc3 for e in errors) / total,
        "5px": sum(e.n_acc5 for e in errors) / total,
        "Fl-all": sum(e.n_outliers for e in errors) / total,
    }
