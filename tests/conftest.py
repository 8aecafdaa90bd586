"""Shared fixtures. Real data (../shared beside the clone) is optional: tests that need it skip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Two cores are shared by everything on CI machines; more threads only thrash.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(autouse=True)
def _same_random_state_for_every_test():
    """Every test starts from the same global RNG state, whatever ran before it, so an assertion on random
    inputs cannot pass or fail by the order of the tests (stop 39: one did, after two tests were added)."""
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real DAVIS / flow pairs / clips); skips the test when absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is absent (real evaluation data is optional)")
    return path


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """../shared/reference (official toolkit metric values); skips the test when absent."""
    path = SHARED / "reference"
    if not path.is_dir():
        pytest.skip("../shared/reference is absent")
    return path


@pytest.fixture
def seg_training():
    """make(**TrainConfig overrides) -> (model, optimiser, steps): a freshly built network (seed 0),
    its optimiser and one fixed generated batch of two 64x64 pairs; ``steps(n, train_trunk=True)``
    enters the segmentation phase and runs n optimiser steps on that batch."""

    def make(**overrides):
        from segflow_cli.models import transform_for
        from segflow_cli.train import TrainConfig
        from segflow_cli.train.data import train_pairs
        from segflow_cli.train.loop import build, make_optimizer, set_phase, step_loss

        torch.manual_seed(0)
        cfg = TrainConfig(**{"out": "unused", "size": (64, 64), "batch_size": 2, "workers": 0, "train_samples": 2,
                             "warmup": 1, "lr": 2e-3, "steps": 3, **overrides})
        model = build(cfg)
        ds = train_pairs(cfg, transform=transform_for(model))
        batch = {k: torch.stack([ds[i][k] for i in range(2)]) for k in ds[0]}
        opt, _ = make_optimizer(model, cfg)

        def steps(n: int, *, train_trunk: bool = True) -> None:
            set_phase(model, "seg", train_trunk=train_trunk)
            for _ in range(n):
                loss, _ = step_loss(model, batch, "seg")
                opt.zero_grad()
                loss.backward()
                opt.step()

        return model, opt, steps

    return make


@pytest.fixture
def build_from_init(tmp_path, monkeypatch):
    """build_from_init(seed=..., **config) -> (init network, the training loop's network built with
    --init from it): a small untrained segflow-lite (no ImageNet trunk) saved as fp32 weights."""
    import torch

    import segflow_cli.models as models
    from segflow_cli.models import segflow_lite
    from segflow_cli.train import TrainConfig
    from segflow_cli.train.loop import build
    from segflow_cli.weights import save_weights

    monkeypatch.setattr(models, "segflow_lite", lambda **kw: segflow_lite(trunk_pretrained=False, **kw))

    def make(seed: int = 1, **config):
        torch.manual_seed(seed)
        init = segflow_lite(trunk_pretrained=False, **config)
        path = tmp_path / f"init{seed}.safetensors"
        save_weights(init, path, half=False)
        return init, build(TrainConfig(out=tmp_path / "run", init=str(path)))

    return make
