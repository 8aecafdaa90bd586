"""One place each: the weights registry (model + input transform), the networks' declared capabilities,
and the method registry the command line reads."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import segflow_cli
from segflow_cli.classical import dis_flow
from segflow_cli.models.match_start import matched_dis
from segflow_cli.weights import get_weights, load_model

PKG = Path(segflow_cli.__file__).parent


def _pair(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A smooth texture and the same texture shifted 3 px right: a pair DIS can follow."""
    import cv2

    rng = np.random.default_rng(0)
    tex = cv2.GaussianBlur(rng.random((h, w + 8)).astype(np.float32), (0, 0), 2.0)
    tex = np.clip((tex - tex.mean()) * 1200 + 128, 0, 255).astype(np.uint8)
    a, b = tex[:, 3:3 + w], tex[:, 0:w]
    return np.repeat(a[..., None], 3, -1).copy(), np.repeat(b[..., None], 3, -1).copy()


@pytest.fixture(scope="module")
def entry():
    return get_weights("segflow-lite")


def test_entry_gives_load_models_network_and_the_dis_transform(entry):
    model = entry.load()
    reference, card, sha = load_model("segflow-lite")
    assert sha == entry.sha256 == card["sha256"] and entry.card == card and entry.architecture == "segflow-lite"
    ours, theirs = model.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert model.config == reference.config

    a, b = _pair()
    transform = entry.transforms()
    # the shipped weights' warm start (stop 34; "dis-full" stops 30-33, "dis-fine" stops 23-29)
    assert transform.flow_init == "dis-match"
    image1, image2, init = transform(a, b)
    assert torch.equal(init, torch.from_numpy(matched_dis(a, b)).permute(2, 0, 1))
    assert image1.shape == (3, 48, 64) and torch.equal(image2, torch.from_numpy(b).permute(2, 0, 1).float() / 255)
    # The training view of the same frames (float tensors in [0, 1]) gives the same warm start.
    assert torch.equal(transform.warm_start_of(image1, image2), init)


def test_every_consumer_gets_the_same_transform(entry):
    from segflow_cli.inference import create_session, load_flow_estimator
    from segflow_cli.models import PairTransform, segflow_paper, transform_for
    from segflow_cli.train.samples import TrainPairs

    session = create_session(method="propagate", max_size=64, device="cpu")
    assert session.runner.transform == entry.transforms() == transform_for(session.runner.model)
    assert load_flow_estimator(device="cpu").runner.transform == entry.transforms()
    assert transform_for(segflow_paper()) == PairTransform(flow_init="none")
    assert PairTransform().warm_start(*_pair()) is None

    a, b = _pair()
    clip = {"frames": torch.stack([torch.from_numpy(x).permute(2, 0, 1).float() / 255 for x in (a, b)])}
    item = TrainPairs([clip], transform=entry.transforms())[0]
    assert torch.equal(item["flow_init"], torch.from_numpy(matched_dis(a, b)).permute(2, 0, 1))
    assert "flow_init" not in TrainPairs([clip])[0]


def test_builder_with_weights_is_the_trained_network(entry):
    from segflow_cli.models import segflow_lite

    model = segflow_lite(weights="segflow-lite")
    assert not model.training and model.config.flow_init == "dis-match"
    state = entry.state_dict()
    trunk = {k: v for k, v in model.state_dict().items() if k.startswith("trunk.") and v.is_floating_point()}
    assert trunk and all(torch.equal(v, state[k]) for k, v in trunk.items())  # the file's trunk, not ImageNet's
    imagenet = segflow_lite().state_dict()
    assert any(not torch.equal(v, imagenet[k]) for k, v in trunk.items())


def test_builder_refuses_weights_of_another_network(entry):
    from segflow_cli.errors import WeightsError
    from segflow_cli.models import segflow_paper

    with pytest.raises(WeightsError, match="segflow-lite weights, not segflow-paper"):
        segflow_paper(weights=entry)


def test_networks_declare_their_capabilities():
    from segflow_cli.models import SegFlowLite
    from segflow_cli.models.paper import SegFlowPaper

    for cls in (SegFlowLite, SegFlowPaper):
        for name in ("supports_prev_probs", "supports_reference", "supports_memory"):
            assert isinstance(cls.__dict__.get(name), bool), f"{cls.__name__} must declare {name}"
    assert SegFlowLite.supports_memory and not SegFlowPaper.supports_memory


def test_no_capability_probing():
    probe = re.compile(r"""(getattr|hasattr)\([^)]*["']supports_""")
    found = [f"{p.relative_to(PKG)}:{i}" for p in sorted(PKG.rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if probe.search(line)]
    assert not found, "read the declared capability (models/types.py SegFlowNet) instead of probing: " + ", ".join(found)


def _method_help(*path: str) -> str:
    import typer

    from segflow_cli.cli import app

    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return next(p.help for p in cmd.params if "--method" in p.opts)


def test_commands_read_the_one_method_registry():
    from segflow_cli.inference import methods
    from segflow_cli.inference.session import METHODS

    assert METHODS is methods.SEGMENT_METHODS
    names = lambda text: re.findall(r"(?:^|, | or )([a-z0-9-]+) \(", text)  # noqa: E731
    for path in (("flow",), ("benchmark", "flow")):
        assert sorted(names(_method_help(*path))) == sorted(methods.FLOW_METHODS), path
    for path in (("segment",), ("benchmark", "davis")):
        assert sorted(names(_method_help(*path))) == sorted(METHODS), path


def test_unknown_flow_method_is_refused_alike(tmp_path):
    from typer.testing import CliRunner

    from segflow_cli.cli import app
    from segflow_cli.io import write_image

    a, b = _pair()
    write_image(tmp_path / "a.png", a)
    write_image(tmp_path / "b.png", b)
    res = CliRunner().invoke(app, ["flow", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--method", "raft",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--method raft" in res.output and "segflow, dis, dis-fine, dis-full, dis-match, farneback, tvl1" in res.output
    res = CliRunner().invoke(app, ["flow", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--method", "farneback",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output  # every registered method runs from `flow`, as in `benchmark flow`


def test_warm_starts_are_plain_opencv_dis():
    """Each flow_init gives exactly OpenCV's DIS with its documented settings: "dis" the medium preset
    (cards written before stop 23 keep it), "dis-fine" medium at finest scale 0 with patch stride 2
    (stops 23-29), "dis-full" medium at finest scale 0, patch stride 4, 16 descent iterations (stop 30);
    the flow methods of the same names are the same three (the baselines `benchmark flow` compares)."""
    import cv2

    from segflow_cli.inference.methods import get_flow_method
    from segflow_cli.models import PairTransform

    a, b = _pair()
    grey = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (a, b)]
    medium = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    fine = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    fine.setFinestScale(0)
    fine.setPatchStride(2)
    full = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    full.setFinestScale(0)
    full.setPatchStride(4)
    full.setGradientDescentIterations(16)
    plain = {"dis": medium.calc(*grey, None), "dis-fine": fine.calc(*grey, None), "dis-full": full.calc(*grey, None)}
    for x, y in [("dis", "dis-fine"), ("dis", "dis-full"), ("dis-fine", "dis-full")]:
        assert not np.array_equal(plain[x], plain[y])  # different settings, not one twice
    for name, flow in plain.items():
        assert torch.equal(PairTransform(flow_init=name).warm_start(a, b), torch.from_numpy(flow).permute(2, 0, 1))
        assert np.array_equal(get_flow_method(name)(a, b), flow)
    # All follow the pair's 3 px shift; the full-resolution ones at least as closely.
    err = {k: np.abs(f[8:-8, 8:-8] - [3.0, 0.0]).mean() for k, f in plain.items()}
    assert max(err["dis-fine"], err["dis-full"]) <= err["dis"] < 1.0
    with pytest.raises(ValueError, match="flow_init"):
        PairTransform(flow_init="dis-slow")


def test_old_cards_keep_the_medium_warm_start(entry, tmp_path):
    """Weights whose config says flow_init "dis" (every card before stop 23) still get DIS medium:
    scripts/retag_weights.py re-tags the shipped file back, tensors untouched."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("retag_weights", PKG.parent / "scripts" / "retag_weights.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "old.safetensors"
    script.main([str(entry.file), str(out), "--flow-init", "dis"])
    old = get_weights(str(out))
    assert old.card["previous_sha256"] == entry.sha256 and old.transforms().flow_init == "dis"
    ours, theirs = old.state_dict(), entry.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    a, b = _pair()
    assert torch.equal(old.transforms().warm_start(a, b), torch.from_numpy(dis_flow(a, b)).permute(2, 0, 1))
