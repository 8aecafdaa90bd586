"""Flow methods the benchmark compares on the same pairs, all as callables
(img1, img2: (H, W, 3) uint8 RGB) -> (H, W, 2) float32 flow img1 -> img2.

The classical OpenCV ones (DIS medium preset, Farneback, TV-L1) live in segflow_cli.classical,
shared with the inference and training code; TV-L1 needs OpenCV's contrib module and is refused
with a clear message when this OpenCV lacks it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..classical import has_tvl1
from ..errors import SegflowError

FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
METHODS = ("segflow", "dis", "farneback", "tvl1")


def get_flow_method(name: str, *, weights: str = "segflow-lite", device: str = "auto", precision: str = "fp32",
                    max_size: int = 1024) -> FlowFn:
    """The callable for ``name`` (one of METHODS); "segflow" loads the joint network's flow branch."""
    if name == "dis":
        from ..classical import dis_flow

        return dis_flow
    if name == "farneback":
        from ..classical import farneback_flow

        return farneback_flow
    if name == "tvl1":
        from ..classical import require_tvl1, tvl1_flow

        require_tvl1()
        return tvl1_flow
    if name == "segflow":
        from ..inference import load_flow_estimator

        return load_flow_estimator(weights=weights, device=device, precision=precision, max_size=max_size)
    raise SegflowError(f"unknown flow method {name!r}; choose one of {', '.join(METHODS)}")


__all__ = ["METHODS", "FlowFn", "get_flow_method", "has_tvl1"]
