"""Inference API: video sessions and two-frame flow, shared by the CLI, the benchmarks and the tests.

The session and the flow estimator get the network and its input transform from one weights entry
(models.weights.get_weights). The sessions and runners load on first use: importing the package (or
its method registry, methods.py, which the command line's help reads) does not import torch.
"""

from __future__ import annotations

from .methods import (EDGE_EPS, EDGE_RADIUS, MASK_THRESHOLD, MEMORY_EVERY, MEMORY_FRAMES, MEMORY_NEAR, MEMORY_POWER,  # torch-free
                      SEGMENT_DEFAULT, SEGMENT_MAX_SIZE)

DEFAULT_MAX_SIZE = SEGMENT_MAX_SIZE


def __getattr__(name: str):
    if name in ("PairRunner", "internal_size"):
        from . import runner

        return getattr(runner, name)
    if name in ("FrameResult", "VideoSession"):
        from . import session

        return getattr(session, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _runner(weights: str, model, *, trainable: bool = False, **kw):
    """A PairRunner over ``model``, or over the network of ``weights`` with that entry's transform, folded
    for inference (``trainable``: the trained trunk stays as it is, for online fine-tuning)."""
    from .runner import PairRunner

    if model is not None:
        return PairRunner(model, **kw)
    from ..models.weights import get_weights

    entry = get_weights(weights)
    return PairRunner(entry.load(), transform=entry.transforms(), fold=True, trainable=trainable, **kw)


def create_session(*, method: str = SEGMENT_DEFAULT, weights: str = "segflow-lite", device: str = "auto",
                   precision: str = "fp32", max_size: int = DEFAULT_MAX_SIZE, finetune_steps: int = 0,
                   compute_flow: bool = True, model=None, memory: bool = True, memory_frames: int = MEMORY_FRAMES,
                   memory_every: int = MEMORY_EVERY, memory_near: int = MEMORY_NEAR, edge_radius: int = EDGE_RADIUS,
                   edge_eps: float = EDGE_EPS, memory_power: float = MEMORY_POWER, threshold: float = MASK_THRESHOLD):
    """A VideoSession for ``method`` ("segflow" and "propagate" load ``weights`` unless a ``model`` is
    given; "dis-warp" needs none). memory/memory_frames/memory_every/memory_near/memory_power, edge_radius/edge_eps, threshold: see
    VideoSession."""
    from .session import VideoSession

    runner = None
    if method in ("segflow", "propagate"):
        runner = _runner(weights, model, trainable=finetune_steps > 0, device=device, precision=precision, max_size=max_size)
    return VideoSession(runner, method=method, max_size=max_size, finetune_steps=finetune_steps, compute_flow=compute_flow,
                        memory=memory, memory_frames=memory_frames, memory_every=memory_every, memory_near=memory_near,
                        edge_radius=edge_radius, edge_eps=edge_eps, memory_power=memory_power, threshold=threshold)


def load_flow_estimator(*, weights: str = "segflow-lite", device: str = "auto", precision: str = "fp32",
                        max_size: int = 1024, model=None):
    """Callable (img1, img2: (H, W, 3) uint8) -> (H, W, 2) float32 flow img1 -> img2 from the joint network."""
    from .runner import internal_size, resize_flow

    runner = _runner(weights, model, device=device, precision=precision, max_size=max_size)

    def estimate(img1, img2):
        h, w = img1.shape[:2]
        size = internal_size(w, h, runner.max_size, stride=1)  # the network pads; keep the exact geometry
        return resize_flow(runner.flow(runner.prepare(img1, size), runner.prepare(img2, size)), w, h)

    estimate.runner = runner
    return estimate


__all__ = ["FrameResult", "PairRunner", "VideoSession", "create_session", "internal_size", "load_flow_estimator"]
