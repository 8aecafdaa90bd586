"""Classical optical flow from OpenCV: the DIS warm start of segflow-lite and the baselines.

All functions take (H, W, 3) uint8 RGB frames and return (H, W, 2) float32 flow image1 -> image2.
"""

from __future__ import annotations

import cv2
import numpy as np

_DIS = {}


def _grey(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def dis_flow(img1: np.ndarray, img2: np.ndarray, *, preset: str = "medium") -> np.ndarray:
    """OpenCV DIS optical flow (Kroeger et al., ECCV 2016) with a named preset: ultrafast|fast|medium."""
    presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    if preset not in _DIS:  # the object is reusable and costly to create per frame
        _DIS[preset] = cv2.DISOpticalFlow_create(presets[preset])
    return _DIS[preset].calc(_grey(img1), _grey(img2), None).astype(np.float32)


def farneback_flow(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """OpenCV Farneback dense flow with commonly used parameters."""
    return cv2.calcOpticalFlowFarneback(_grey(img1), _grey(img2), None, 0.5, 5, 15, 3, 5, 1.2, 0).astype(np.float32)

