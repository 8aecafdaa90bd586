"""The flow branch's residual gate (LiteConfig.flow_gate, flow_branch.residual_gate): the learnt correction
on top of the DIS warm start passes only where the warm start leaves the frames disagreeing, so on a pair
DIS already gets right (no motion, a translation) the network cannot make the flow worse."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import segflow_cli
from segflow_cli.classical import dis_flow
from segflow_cli.models.lite import LiteConfig
from segflow_cli.models.lite.flow_branch import residual_gate
from segflow_cli.weights import get_weights

SCRIPT = Path(segflow_cli.__file__).parents[1] / "scripts" / "retag_weights.py"


def _texture(h: int = 200, w: int = 260) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(0)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 2.0)


def _translated(big: np.ndarray, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two 192x128 crops of one texture, the second moved by (dx, dy): the pair and its exact flow
    frame 1 -> frame 2, which is (-dx, -dy) everywhere."""
    a = np.ascontiguousarray(big[20:148, 20:212])
    b = np.ascontiguousarray(big[20 + dy:148 + dy, 20 + dx:212 + dx])
    truth = np.empty(a.shape[:2] + (2,), np.float32)
    truth[...] = (-dx, -dy)
    return a, b, truth


def _retag(src: Path, dst: Path, *args: str) -> None:
    spec = importlib.util.spec_from_file_location("retag_weights", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main([str(src), str(dst), *args])


@pytest.fixture(scope="module")
def estimators(tmp_path_factory):
    """The shipped network's flow with its gates (and its per-pixel selection), and the same tensors with
    both gates and the selection off."""
    from segflow_cli.inference import load_flow_estimator

    shipped = get_weights("segflow-lite")
    off = tmp_path_factory.mktemp("gate") / "off.safetensors"
    _retag(shipped.file, off, "--flow-gate", "0", "--flow-gate-net", "0", "--flow-select-radius", "0")
    return load_flow_estimator(weights="segflow-lite", device="cpu"), load_flow_estimator(weights=str(off), device="cpu")


def test_gate_is_closed_where_the_warm_start_explains_the_pair_and_open_where_it_fails():
    img = torch.rand(1, 3, 32, 40)
    zero = torch.zeros(1, 2, 32, 40)
    assert float(residual_gate(img, img, zero, scale=2.0).max()) < 1e-4  # float noise of the warp and box sums
    other = (img + 0.1).clamp(max=1.0)  # about 25 grey levels everywhere: the warm start explains nothing
    assert torch.equal(residual_gate(img, other, zero, scale=2.0), torch.ones(1, 1, 32, 40))
    with pytest.raises(ValueError, match="scale"):
        residual_gate(img, img, zero, scale=0.0)


def test_shipped_network_does_not_worsen_pairs_dis_gets_right(estimators):
    gated, ungated = estimators
    start = get_weights("segflow-lite").transforms().warm_start  # the shipped warm start (dis-match)
    as_np = lambda t: t.permute(1, 2, 0).numpy()  # noqa: E731
    big = _texture()
    a, b, truth = _translated(big, 0, 0)
    assert np.abs(gated(a, b) - as_np(start(a, b))).max() < 1e-3  # no motion: the warm start
    for dx, dy in [(0, 0), (3, 2), (-5, 4), (8, -6)]:
        a, b, truth = _translated(big, dx, dy)
        epe = lambda f: float(np.linalg.norm(f - truth, axis=-1).mean())  # noqa: E731
        warm, net, raw = epe(as_np(start(a, b))), epe(gated(a, b)), epe(ungated(a, b))
        # DIS full is within a tenth of a pixel here and the warm start within a twentieth of DIS full;
        # the gated network stays within 1/200 px of its warm start ...
        assert warm < 0.15 and warm <= epe(dis_flow(a, b, preset="full")) + 0.05 and net <= warm + 0.005, (dx, dy, warm, net)
        # ... where the same tensors without the gate add a few hundredths (what the gate prevents).
        if (dx, dy) in [(0, 0), (3, 2)]:
            assert raw > warm + 0.02, (dx, dy, warm, raw)


def test_cards_before_the_gate_load_without_it(tmp_path):
    """Cards written before the field have no flow_gate: they load with the gate off; the re-tag script
    switches it on or off with every tensor kept."""
    old = LiteConfig.from_dict({k: v for k, v in LiteConfig().to_dict().items() if k not in ("flow_gate", "memory_gate_focus")})
    assert old.flow_gate == 0.0 and LiteConfig().flow_gate > 0
    assert old.memory_gate_focus == 0.0 == LiteConfig().memory_gate_focus  # the segmentation gate's focus: off unless a card sets it
    shipped = get_weights("segflow-lite")
    # shipped: the memory gate's focus 2 (stop 24), the residual gate's scale 5 (stop 31; 2 from stop 24)
    assert shipped.model_config().flow_gate == 5.0 and shipped.model_config().memory_gate_focus == 2.0
    out = tmp_path / "off.safetensors"
    _retag(shipped.file, out, "--flow-gate", "0")
    w = get_weights(str(out))
    assert w.model_config() == dataclasses.replace(shipped.model_config(), flow_gate=0.0)
    ours, theirs = w.state_dict(), shipped.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


# The learnt gate (LiteConfig.flow_gate_net, models/lite/flow_gate.py; scripts/train_flow_gate.py).

TRAIN_GATE = Path(segflow_cli.__file__).parents[1] / "scripts" / "train_flow_gate.py"


def test_learnt_gate_shapes_and_range():
    from segflow_cli.models.lite.flow_gate import FEATURES, LearntGate, gate_features

    torch.manual_seed(0)
    im1, im2 = torch.rand(2, 3, 37, 53), torch.rand(2, 3, 37, 53)
    init, corr = torch.randn(2, 2, 37, 53), torch.randn(2, 2, 37, 53)
    assert gate_features(im1, im2, init, corr).shape == (2, FEATURES, 19, 27)  # half resolution
    with torch.no_grad():
        g = LearntGate()(im1, im2, init, corr)
    assert g.shape == (2, 1, 37, 53) and float(g.min()) >= 0.0 and float(g.max()) <= 1.0


def test_cards_before_the_learnt_gate_load_without_it_and_retag_drops_it(tmp_path):
    old = LiteConfig.from_dict({k: v for k, v in LiteConfig().to_dict().items() if k != "flow_gate_net"})
    assert old.flow_gate_net is False and LiteConfig().flow_gate_net is False
    from segflow_cli.models import segflow_lite

    assert segflow_lite(trunk_pretrained=False).flow_gate_net is None
    shipped = get_weights("segflow-lite")
    keys = shipped.state_dict().keys()
    if not shipped.model_config().flow_gate_net:
        pytest.fail("the shipped weights carry no learnt flow gate (stop 28)")
    assert any(k.startswith("flow_gate_net.") for k in keys)
    out = tmp_path / "no_net.safetensors"
    _retag(shipped.file, out, "--flow-gate-net", "0")
    w = get_weights(str(out))
    assert w.model_config() == dataclasses.replace(shipped.model_config(), flow_gate_net=False)
    ours, theirs = w.state_dict(), shipped.state_dict()
    assert set(theirs) - set(ours) == {k for k in theirs if k.startswith("flow_gate_net.")}
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert w.load().flow_gate_net is None


def test_train_flow_gate_script_adds_a_trained_gate_and_keeps_every_other_tensor(tmp_path):
    """The recipe end to end on a tiny budget: photos from a folder, generated pairs, a few steps."""
    import cv2

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        small = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
        cv2.imwrite(str(photos / f"p{i}.png"), cv2.resize(small, (400, 300), interpolation=cv2.INTER_CUBIC))
    base = tmp_path / "base.safetensors"
    _retag(get_weights("segflow-lite").file, base, "--flow-gate-net", "0")
    spec = importlib.util.spec_from_file_location("train_flow_gate", TRAIN_GATE)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "gated.safetensors"
    script.main([str(base), str(out), "--steps", "3", "--gen-pairs", "2", "--photo-pairs", "2", "--big-pairs", "1",
                 "--val-pairs", "1", "--val-big-pairs", "1", "--photos", str(photos), "--threads", "1"])
    w = get_weights(str(out))
    assert w.model_config().flow_gate_net and "learnt flow gate" in w.card["note"]
    ours, theirs = w.state_dict(), get_weights(str(base)).state_dict()
    assert {k for k in ours if k not in theirs} == {k for k in ours if k.startswith("flow_gate_net.")} != set()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)


def test_init_from_gated_weights_trains_a_gated_network(build_from_init):
    from segflow_cli.train.loop import set_phase

    gated, net = build_from_init(seed=2, flow_gate_net=True)
    assert net.config.flow_gate_net and torch.equal(net.flow_gate_net.net[0].weight, gated.flow_gate_net.net[0].weight)
    for phase, trains in (("seg", False), ("flow", True)):  # part of the flow branch: frozen in the seg phase
        set_phase(net, phase)
        assert all(p.requires_grad == trains for p in net.flow_gate_net.parameters())
