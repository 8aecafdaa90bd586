"""The weights shipped in weights/ load through the registry, match their card, and are trained."""

import json

import numpy as np
import pytest

from segflow_cli.weights import list_cards, load_model, sha256_of, weights_dir


@pytest.fixture(scope="module")
def shipped():
    cards = list_cards()
    assert "segflow-lite" in cards, "weights/segflow-lite.json is missing: the default weights must ship"
    model, card, sha = load_model("segflow-lite")
    return model, card, sha


def test_default_weights_load_and_match_their_card(shipped):
    model, card, sha = shipped
    path = weights_dir() / card["file"]
    assert sha == card["sha256"] == sha256_of(path)
    assert path.stat().st_size <= 25e6  # the size budget: fp16, at most 25 MB
    assert card["architecture"] == "segflow-lite" and card["training"]["steps"] > 0
    real = card["metrics"]["real_data"]
    assert {"davis2016_shared_8_sequences", "flow_shared_pairs"} <= set(real)


def test_weights_are_trained_not_the_warm_start(shipped):
    """Zero-initialised heads would make the flow exactly its DIS warm start; trained ones do not."""
    import torch

    from segflow_cli.models import segflow_lite

    model, _, _ = shipped
    heads = [m.head.weight for m in model.flow_decoder.levels.values()]
    assert all(h.abs().sum() > 0 for h in heads)
    g = torch.Generator().manual_seed(0)  # fixed inputs: the global RNG's state depends on the tests before
    a, b = torch.rand(1, 3, 64, 96, generator=g), torch.rand(1, 3, 64, 96, generator=g)
    with torch.no_grad():
        # Without a warm start the flow is the decoder's own output: no residual gate, no per-pixel choice
        # between warm start and correction (on noise that choice rightly keeps the warm start, so the full
        # path's output measured the inputs' luck, not the heads).
        flow = model.flow(a, b)
    assert flow.shape == (1, 2, 64, 96) and flow.abs().max() > 1e-2


def _mean_j(session, scene) -> float:
    from segflow_cli.eval.davis_metrics import region_similarity

    ids = [i for i in np.unique(scene.masks[0]) if i != 0]
    js = [region_similarity(gt == i, res.mask == i)
          for res, gt in zip(session.propagate(list(scene.frames), first_mask=scene.masks[0]), scene.masks)
          if res.index > 0 for i in ids]
    return float(np.mean(js))


def test_weights_beat_dis_warp_on_generated_clips(shipped):
    """The trained network follows objects through generated clips (fast motion, occlusions, never
    seen in training: a different seed stream) better than the classical warp of the same masks."""
    from segflow_cli.data import SceneConfig, generate_scene
    from segflow_cli.inference import create_session

    model, _, _ = shipped
    cfg = SceneConfig(size=(320, 192), frames=10, tracking=True)
    ours, classical = [], []
    for seed in range(4):
        scene = generate_scene(cfg, 900 + seed)
        ours.append(_mean_j(create_session(method="segflow", model=model, compute_flow=False), scene))
        classical.append(_mean_j(create_session(method="dis-warp", compute_flow=False), scene))
    assert np.mean(ours) > np.mean(classical) + 0.03, (ours, classical)
