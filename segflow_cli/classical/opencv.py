"""Classical optical flow from OpenCV: the DIS warm start of segflow-lite and the baselines.

All functions take (H, W, 3) uint8 RGB frames and return (H, W, 2) float32 flow image1 -> image2.
TV-L1 needs OpenCV's contrib module and is refused with a clear message when this OpenCV lacks it.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ArgumentError

_DIS = {}
# DIS objects that are given a starting flow, one per preset, apart from _DIS: an OpenCV DIS object that was
# once given a starting flow computes different flows in later calls without one (up to 185 px apart on a
# photo pair; benchmarks/RESULTS.md, stop 34), while one always given a start stays deterministic.
_DIS_SEEDED = {}


def _grey(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


# "fine": the medium preset down to full resolution (finest scale 0 instead of 1) with patches every
# 2 pixels (stride 2 instead of 3). Chosen among the medium preset and 11 variants of (finest scale, patch
# size, stride, descent and refinement iterations) on the generated validation pairs (benchmarks/flow_synthetic_val.py):
# mean EPE 10.477 vs medium's 11.096; about 4x medium's time (benchmarks/RESULTS.md, stop 23).
DIS_FINE = {"FinestScale": 0, "PatchStride": 2}
# "full": the medium preset at full resolution with patches every 4 pixels (stride 4 instead of 3) and 16
# descent iterations (instead of 25): segflow-lite's warm start since stop 30. Under the network and its
# flow selection it scores at least as well as "fine" on the photo pairs of other photos (four seeds), which
# decide for flow, at 0.43x its time (65 vs 150 ms at 1024x436); on the generated pairs "fine" is better
# (benchmarks/RESULTS.md, stop 30).
DIS_FULL = {"FinestScale": 0, "PatchStride": 4, "GradientDescentIterations": 16}
DIS_PRESETS = ("ultrafast", "fast", "medium", "fine", "full")
# The DIS flow methods (and segflow-lite's flow_init values) -> their preset: one table for the warm start
# (models.transforms) and the baselines (inference.methods).
DIS_METHOD_PRESETS = {"dis": "medium", "dis-fine": "fine", "dis-full": "full"}


def _dis(preset: str, *, seeded: bool = False):
    if preset not in DIS_PRESETS:
        raise ValueError(f"unknown DIS preset {preset!r}; use one of {', '.join(DIS_PRESETS)}")
    cache = _DIS_SEEDED if seeded else _DIS
    if preset not in cache:  # the object is reusable and costly to create per frame
        base = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST}
        dis = cv2.DISOpticalFlow_create(base.get(preset, cv2.DISOPTICAL_FLOW_PRESET_MEDIUM))
        for name, value in {"fine": DIS_FINE, "full": DIS_FULL}.get(preset, {}).items():
            getattr(dis, f"set{name}")(value)
        cache[preset] = dis
    return cache[preset]


def dis_flow(img1: np.ndarray, img2: np.ndarray, *, preset: str = "medium", init: np.ndarray | None = None) -> np.ndarray:
    """OpenCV DIS optical flow (Kroeger et al., ECCV 2016) with a named preset: ultrafast|fast|medium
    (OpenCV's own), fine (medium at full resolution with denser patches, ``DIS_FINE``) or full (medium
    at full resolution with sparser patches, ``DIS_FULL``). ``init``: an (H, W, 2) starting flow img1 -> img2
    (OpenCV's DIS starts from its flow argument when that has the frames' size), or None for zero motion."""
    if init is None:
        return _dis(preset).calc(_grey(img1), _grey(img2), None).astype(np.float32)
    if init.shape != (*img1.shape[:2], 2):
        raise ValueError(f"DIS's starting flow must be (H, W, 2) = {(*img1.shape[:2], 2)}, got {init.shape}")
    start = np.array(init, dtype=np.float32, order="C")  # a copy: OpenCV writes the result into it
    return _dis(preset, seeded=True).calc(_grey(img1), _grey(img2), start).astype(np.float32)


def farneback_flow(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """OpenCV Farneback dense flow with commonly used parameters."""
    return cv2.calcOpticalFlowFarneback(_grey(img1), _grey(img2), None, 0.5, 5, 15, 3, 5, 1.2, 0).astype(np.float32)



def has_tvl1() -> bool:
    """Whether this OpenCV has the contrib module's Dual TV-L1."""
    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def require_tvl1() -> None:
    if not has_tvl1():
        raise ArgumentError("method", "tvl1", f"needs OpenCV's contrib module (cv2.optflow), which this OpenCV "
                            f"{cv2.__version__} lacks", fix="install opencv-contrib-python-headless or use dis/farneback")


def tvl1_flow(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """OpenCV Dual TV-L1 (Zach et al. 2007) with its default parameters; needs opencv-contrib."""
    require_tvl1()
    return cv2.optflow.DualTVL1OpticalFlow_create().calc(_grey(img1), _grey(img2), None).astype(np.float32)
