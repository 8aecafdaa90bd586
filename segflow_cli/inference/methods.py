"""The method registry `flow`, `segment` and `benchmark` share: the names, what each one is, and,
for flow, the callable. No torch at import (the command line's help text is built from it).

Flow methods are callables (img1, img2: (H, W, 3) uint8 RGB) -> (H, W, 2) float32 flow img1 -> img2.
The classical OpenCV ones (DIS medium preset, DIS "fine" and "full", Farneback, TV-L1) live in segflow_cli.classical; TV-L1
needs OpenCV's contrib module and is refused with a clear message when this OpenCV lacks it.
Segment methods are run by inference.session.VideoSession, which checks them against SEGMENT_METHODS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import ArgumentError

if TYPE_CHECKING:
    import numpy as np

FlowFn = Callable[["np.ndarray", "np.ndarray"], "np.ndarray"]

FLOW_HELP = {
    "segflow": "the joint network's flow branch",
    "dis": "OpenCV DIS, medium preset",
    "dis-fine": "OpenCV DIS at full resolution, denser patches",
    "dis-full": "OpenCV DIS at full resolution, sparser patches",
    "dis-match": "DIS full seeded by a global match of ImageNet Lite0 features and its dominant homography: segflow's warm start",
    "farneback": "OpenCV Farneback",
    "tvl1": "OpenCV TV-L1, needs opencv-contrib",
}
FLOW_METHODS = tuple(FLOW_HELP)  # ("segflow", "dis", "dis-fine", "dis-full", "dis-match", "farneback", "tvl1")
SEGMENT_HELP = {
    "segflow": "the memory readout refined by the joint network's decoder",
    "propagate": "the space-time memory readout alone, matched in the weights' memory key",
    "dis-warp": "classical baseline",
}
SEGMENT_METHODS = tuple(SEGMENT_HELP)  # ("segflow", "propagate", "dis-warp"): inference.session.METHODS
SEGMENT_DEFAULT = "propagate"  # segflow is below it on DAVIS (78.5 vs 80.3) and slower (benchmarks/RESULTS.md, stop 22)
# Internal resolution cap (longer side) for segmentation: DAVIS-size frames (854x480) run at their own
# size. On the validation clips at 854x480, propagate J 0.883 at 864 vs 0.839 at 512 (2026-12-02);
# --max-size 512 is the faster setting (about 4x less readout work).
SEGMENT_MAX_SIZE = 864
# Edge refinement of the readout (ops/guided.py): the stride-8 readout is upsampled and then filtered
# with the colour frame as guide: radius in internal pixels (0: off), eps (a colour variance), the
# local fits made on an 8x smaller grid (the key grid's). Chosen on the validation clips at 854x480:
# J 0.830 -> 0.874, F 0.845 -> 0.874 over clips 0-11 (benchmarks/RESULTS.md, 2026-12-02, stop 19).
EDGE_RADIUS = 8
EDGE_EPS = 1e-3
EDGE_SCALE = 8
# Predicted frames join the memory with their values raised to this power and renormalised
# (inference.memory.sharpen; 1: as read). Off: 1/0.7 gained on the DAVIS tuning four (83.8 vs 82.0) but
# was level on the held-out four (78.7 vs 78.6) and a little lower on the generated validation clips
# (J 0.853 vs 0.856, F 0.851 vs 0.861): no evidence it generalises (benchmarks/RESULTS.md, stop 22).
MEMORY_POWER = 1.0
# The recent frames the memory keeps (inference.memory.SpaceTimeMemory): MEMORY_FRAMES in all, the last
# MEMORY_NEAR of them whatever their index and before them one frame every MEMORY_EVERY (so 14 frames back
# at the cost of 6). Chosen on the DAVIS tuning four with propagate (the last 6 frames 82.0, near 2 + every
# 3 82.6, every 2 81.9: the nearest frames keep fast motion, the older ones a longer look at the
# object), level on the generated clips (J 0.856 / 0.857; benchmarks/RESULTS.md, stop 25).
MEMORY_FRAMES = 6
MEMORY_EVERY = 3
MEMORY_NEAR = 2
# The shown mask's decision (aggregate.probs_to_ids): a pixel shows an object where that object's
# probability against the background's exceeds this (0.5: the plain argmax). Output only: the memory keeps
# the soft values. Why below 0.5: on real footage the stride-8 readout, soft at the object's edges and
# thin parts, erodes objects (DAVIS: the error is mostly missed object pixels); chosen on the DAVIS tuning
# four with propagate (0.5 82.9, 0.44 84.7, 0.41 85.1, 0.39 85.1, 0.375 85.0, 0.33 84.0; benchmarks/RESULTS.md,
# stop 26). The generated clips do not erode (misses 0.59 of their error at 0.5) and are level to a
# little lower (J 0.856 -> 0.854, F 0.861 -> 0.856 at 0.4).
MASK_THRESHOLD = 0.4


def describe(methods: tuple[str, ...], help: dict[str, str], *, default: str | None = None) -> str:
    """'a (default: what a is), b (what b is) or c (what c is)', the default first: for --help."""
    names = sorted(methods, key=lambda m: m != default)
    parts = [f"{m} ({'default: ' if m == default else ''}{help[m]})" for m in names]
    return ", ".join(parts[:-1]) + " or " + parts[-1] if len(parts) > 1 else parts[0]


def forget_cached_frames() -> None:
    """Drop what flow methods keep between calls for the next pair of a video (``dis-match``'s encoder
    features, also inside ``segflow``'s warm start), so the next call pays for its frames in full."""
    from ..models.match_start import clear_feature_cache

    clear_feature_cache()


def get_flow_method(name: str, *, weights: str = "segflow-lite", device: str = "auto", precision: str = "fp32",
                    max_size: int = 1024) -> FlowFn:
    """The callable for ``name`` (one of FLOW_METHODS); "segflow" loads the joint network's flow branch."""
    if name in ("dis", "dis-fine", "dis-full"):  # classical.DIS_METHOD_PRESETS (imported here: it loads OpenCV)
        from functools import partial

        from ..classical import DIS_METHOD_PRESETS, dis_flow

        return partial(dis_flow, preset=DIS_METHOD_PRESETS[name])
    if name == "dis-match":  # loads the ImageNet Lite0 of the installed wheel on first use
        from ..models.match_start import matched_dis

        return matched_dis
    if name == "farneback":
        from ..classical import farneback_flow

        return farneback_flow
    if name == "tvl1":
        from ..classical import require_tvl1, tvl1_flow

        require_tvl1()
        return tvl1_flow
    if name == "segflow":
        from . import load_flow_estimator

        return load_flow_estimator(weights=weights, device=device, precision=precision, max_size=max_size)
    raise ArgumentError("method", name, f"unknown flow method; choose one of {', '.join(FLOW_METHODS)}")


__all__ = ["EDGE_EPS", "EDGE_RADIUS", "EDGE_SCALE", "MASK_THRESHOLD", "MEMORY_EVERY", "MEMORY_FRAMES", "MEMORY_NEAR", "MEMORY_POWER", "FLOW_HELP", "FLOW_METHODS", "FlowFn", "SEGMENT_DEFAULT",
           "SEGMENT_HELP", "SEGMENT_METHODS", "describe", "forget_cached_frames", "get_flow_method"]
