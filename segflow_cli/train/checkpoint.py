"""Full training state for `--resume`, written atomically and read back with weights_only=True.

A checkpoint holds model, optimizer and scheduler state, the step and every RNG state (torch, numpy,
python), all as tensors and plain containers so the safe unpickler accepts it. The model state is
saved unwrapped (no DDP "module." prefix). Weights-only exports for inference are in weights.py.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from ..errors import SegflowError


def _rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
    }


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(gauss)))
    version, internal, g = state["python"]
    random.setstate((version, tuple(internal), g))


def save_checkpoint(path: Path, *, model, optimizer, scheduler, step: int, extra: dict | None = None) -> None:
    module = getattr(model, "module", model)
    state = {
        "model": module.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "step": int(step), "rng": _rng_state(), "extra": extra or {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    with open(tmp, "rb") as f:  # make the bytes durable before the rename makes them visible
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path, *, model, optimizer, scheduler) -> tuple[int, dict]:
    """Restore everything in place; returns (step, extra)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
        raise SegflowError(f"cannot read checkpoint {path} ({type(exc).__name__}); delete it to start over") from None
    getattr(model, "module", model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    return int(state["step"]), state.get("extra", {})
