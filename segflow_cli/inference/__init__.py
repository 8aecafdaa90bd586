"""Inference API: video sessions and two-frame flow, shared by the CLI, the benchmarks and the tests."""

from __future__ import annotations

from .runner import PairRunner, internal_size
from .session import FrameResult, VideoSession

DEFAULT_MAX_SIZE = 512


def create_session(*, method: str = "propagate", weights: str = "segflow-lite", device: str = "auto",
                   precision: str = "fp32", max_size: int = DEFAULT_MAX_SIZE, finetune_steps: int = 0,
                   compute_flow: bool = True, model=None, memory: bool = True, memory_frames: int = 6,
                   memory_every: int = 1) -> VideoSession:
    """A VideoSession for ``method`` ("segflow" and "propagate" load ``weights`` unless a ``model`` is
    given; "dis-warp" needs none). memory/memory_frames/memory_every: see VideoSession."""
    runner = None
    if method in ("segflow", "propagate"):
        if model is None:
            from ..weights import load_model

            model, _, _ = load_model(weights)
        runner = PairRunner(model, device=device, precision=precision, max_size=max_size)
    return VideoSession(runner, method=method, max_size=max_size, finetune_steps=finetune_steps, compute_flow=compute_flow,
                        memory=memory, memory_frames=memory_frames, memory_every=memory_every)


def load_flow_estimator(*, weights: str = "segflow-lite", device: str = "auto", precision: str = "fp32",
                        max_size: int = 1024, model=None):
    """Callable (img1, img2: (H, W, 3) uint8) -> (H, W, 2) float32 flow img1 -> img2 from the joint network."""
    from .runner import resize_flow

    if model is None:
        from ..weights import load_model

        model, _, _ = load_model(weights)
    runner = PairRunner(model, device=device, precision=precision, max_size=max_size)

    def estimate(img1, img2):
        h, w = img1.shape[:2]
        size = internal_size(w, h, runner.max_size, stride=1)  # the network pads; keep the exact geometry
        out = runner.run(runner.prepare(img1, size), runner.prepare(img2, size))
        return resize_flow(out.flow, w, h)

    estimate.runner = runner
    return estimate


__all__ = ["FrameResult", "PairRunner", "VideoSession", "create_session", "internal_size", "load_flow_estimator"]
