"""Throughput and peak memory of flow and segmentation, next to OpenCV DIS on the same frames.

Frames are synthetic (a smooth random texture panning with a moving square object), so the
benchmark needs no data; every method sees the same frames in the same run. Each method runs once
untimed on the first frames (warm-up: allocation, kernel selection, lazy imports) before timing.
Peak memory is torch's peak allocation on CUDA; on the CPU it is the process's peak resident set
(ru_maxrss, a high-water mark of the whole process: it only grows from row to row).
"""

from __future__ import annotations

import resource
import time

import numpy as np

from ..inference.methods import SEGMENT_MAX_SIZE


def synthetic_frames(width: int, height: int, n: int, *, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` (H, W, 3) uint8 RGB frames of a panning texture with a moving square, and the first
    frame's (H, W) uint8 mask (1 = the square)."""
    import cv2

    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.integers(0, 256, (height + 4 * n, width + 4 * n, 3), dtype=np.uint8), (0, 0), 2)
    side = max(4, min(width, height) // 4)
    frames = []
    for t in range(n):
        f = np.ascontiguousarray(big[2 * t:2 * t + height, 3 * t:3 * t + width])
        x, y = width // 4 + 2 * t, height // 3 + t
        f[y:y + side, x:x + side] = (200, 60, 60)
        frames.append(f)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 3:height // 3 + side, width // 4:width // 4 + side] = 1
    return frames, mask


def _peak_mib(device) -> float:
    import torch

    if device is not None and device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak(device) -> None:
    import torch

    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def _sync(device) -> None:
    import torch

    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_pairs(fn, frames, device) -> float:
    from ..inference.methods import forget_cached_frames

    fn(frames[0], frames[1])  # warm-up
    _sync(device)
    forget_cached_frames()  # the first timed pair is the warm-up's: it pays for both its frames, later pairs for one
    t0 = time.perf_counter()
    for a, b in zip(frames[:-1], frames[1:]):
        fn(a, b)
    _sync(device)
    return (len(frames) - 1) / (time.perf_counter() - t0)


def _time_session(session, frames, mask, device) -> float:
    for _ in session.propagate(frames[:3], first_mask=mask):  # warm-up
        pass
    _sync(device)
    t0 = time.perf_counter()
    n = sum(1 for _ in session.propagate(frames, first_mask=mask))
    _sync(device)
    return (n - 1) / (time.perf_counter() - t0)  # frame 0 is the given mask, not computed


def measure_speed(*, width: int, height: int, frames: int, device: str = "auto", precision: str = "fp32",
                  weights: str = "segflow-lite", max_size: int = SEGMENT_MAX_SIZE, model=None) -> list[dict]:
    """Rows {task, method, fps, peak_mib, device}: flow (segflow network, OpenCV DIS) and video
    segmentation (segflow session, DIS-warp session) on the same synthetic frames."""
    from ..inference import create_session, load_flow_estimator
    from ..classical import dis_flow
    from ..policy import resolve_device

    if frames < 3:
        from ..errors import ArgumentError

        raise ArgumentError("frames", frames, "give at least 3 frames")
    dev = resolve_device(device)
    clip, mask = synthetic_frames(width, height, frames)
    # Without a model, every row loads the weights itself, as the commands do (their runner then owns
    # the network and runs the folded key encoder, PairRunner(fold=True)).
    net = {"model": model} if model is not None else {"weights": weights}
    rows = []
    estimator = load_flow_estimator(device=device, precision=precision, max_size=max_size, **net)
    _reset_peak(dev)
    rows.append({"task": "flow", "method": "segflow", "fps": _time_pairs(estimator, clip, dev), "peak_mib": _peak_mib(dev)})
    rows.append({"task": "flow", "method": "dis (OpenCV, cpu)", "fps": _time_pairs(dis_flow, clip, None),
                 "peak_mib": None})
    for label, kw in (("segflow", {}), ("segflow + flow output (segment --method segflow --flow)", {"compute_flow": True}),
                      ("segflow --no-memory", {"memory": False}), ("propagate", {"method": "propagate"}),
                      ("propagate + flow output", {"method": "propagate", "compute_flow": True})):
        session = create_session(**{"method": "segflow", "compute_flow": False, **kw}, device=device, precision=precision,
                                 max_size=max_size, **net)
        _reset_peak(dev)
        rows.append({"task": "segmentation", "method": label, "fps": _time_session(session, clip, mask, dev),
                     "peak_mib": _peak_mib(dev)})
    from ..inference.methods import SEGMENT_DEFAULT

    for label, flow_video in ((SEGMENT_DEFAULT, False), (f"{SEGMENT_DEFAULT} --flow", True)):
        fps = _time_segment(clip, mask, device=device, precision=precision, max_size=max_size, flow_video=flow_video,
                            **net)
        rows.append({"task": "segment end to end", "method": label, "fps": fps, "peak_mib": _peak_mib(dev)})
    warp = create_session(method="dis-warp", max_size=max_size, compute_flow=False)
    rows.append({"task": "segmentation", "method": "dis-warp (cpu)", "fps": _time_session(warp, clip, mask, None),
                 "peak_mib": None})
    for r in rows:
        r["device"] = "cpu" if r["method"].startswith("dis") else str(dev)
    return rows


def _time_segment(clip, mask, **kw) -> float:
    """Frames/s of the whole `segment` job (decode, network, masks, overlay.mp4, and flow.mp4 with
    ``flow_video``, i.e. `--flow`) on the clip written as an mp4, as `segflow segment` measures
    it (start-up excluded; its unrounded figure, not the summary's one decimal)."""
    import tempfile
    from pathlib import Path

    from ..inference.segment import segment_video
    from ..io import VideoWriter, write_mask

    with tempfile.TemporaryDirectory() as tmp:
        video, mpath = Path(tmp) / "clip.mp4", Path(tmp) / "mask.png"
        h, w = clip[0].shape[:2]
        with VideoWriter(video, fps=25.0, size=(w, h)) as writer:
            for f in clip:
                writer.write(f)
        write_mask(mpath, mask)
        stats: dict = {}
        segment_video(video, mpath, Path(tmp) / "out", stats=stats, **kw)
    return float(stats["fps"])
