"""Flow methods the benchmark compares on the same pairs, all as callables
(img1, img2: (H, W, 3) uint8 RGB) -> (H, W, 2) float32 flow img1 -> img2.

The classical OpenCV ones (DIS medium preset, Farneback) are the project's own, shared with the
inference code (segflow_cli.inference.classical); TV-L1 needs OpenCV's contrib module and is
refused with a clear message when this OpenCV lacks it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import SegflowError

FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
METHODS = ("segflow", "dis", "farneback", "tvl1")


def has_tvl1() -> bool:
    import cv2

    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def _require_tvl1() -> None:
    import cv2

    if not has_tvl1():
        raise SegflowError("--method tvl1 needs OpenCV's contrib module (cv2.optflow), which this OpenCV "
                           f"{cv2.__version__} lacks; install opencv-contrib-python-headless or use dis/farneback")


def tvl1_flow(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """OpenCV Dual TV-L1 (Zach et al. 2007) with its default parameters; needs opencv-contrib."""
    import cv2

    _require_tvl1()
    grey = [cv2.cvtColor(i, cv2.COLOR_RGB2GRAY) for i in (img1, img2)]
    return cv2.optflow.DualTVL1OpticalFlow_create().calc(grey[0], grey[1], None).astype(np.float32)


def get_flow_method(name: str, *, weights: str = "segflow-lite", device: str = "auto", precision: str = "fp32",
                    max_size: int = 1024) -> FlowFn:
    """The callable for ``name`` (one of METHODS); "segflow" loads the joint network's flow branch."""
    if name == "dis":
        from ..inference.classical import dis_flow

        return dis_flow
    if name == "farneback":
        from ..inference.classical import farneback_flow

        return farneback_flow
    if name == "tvl1":
        _require_tvl1()
        return tvl1_flow
    if name == "segflow":
        from ..inference import load_flow_estimator

        return load_flow_estimator(weights=weights, device=device, precision=precision, max_size=max_size)
    raise SegflowError(f"unknown flow method {name!r}; choose one of {', '.join(METHODS)}")
