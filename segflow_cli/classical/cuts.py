"""Hard scene-cut detection between consecutive frames (colour histograms, no network).

A cut changes the colour distribution of the whole frame at once; motion, even fast motion, keeps
most of it. The Bhattacharyya distance between the frames' hue-saturation histograms is near 0.1
within a shot and far above 0.5 across a cut (the threshold used here).
"""

from __future__ import annotations

import cv2
import numpy as np

CUT_DISTANCE = 0.5


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> a normalised 2-D hue-saturation histogram (30 x 32 bins)."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [30, 32], [0, 180, 0, 256])
    return cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)


def cut_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance in [0, 1] between two histograms from ``colour_histogram``."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def is_cut(a: np.ndarray, b: np.ndarray, *, threshold: float = CUT_DISTANCE) -> bool:
    return cut_distance(a, b) > threshold
