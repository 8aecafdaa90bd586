"""The per-pixel choice between the warm start and the corrected flow (models/lite/flow_select.py,
LiteConfig.flow_select_radius / flow_select_max): where the warm start is exact a small correction is
dropped, where it is wrong a better correction is kept, a large correction always passes, and the network
applies it at inference only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from segflow_cli.models.lite import LiteConfig
from segflow_cli.models.lite.flow_select import select_flow


def _pair(dx: int = 3, dy: int = 2, h: int = 64, w: int = 80):
    """A textured image and the same moved so that the flow image1 -> image2 is (dx, dy) everywhere
    (rolled: only the wrapped border disagrees)."""
    import cv2

    rng = np.random.default_rng(0)
    a = cv2.GaussianBlur(rng.random((h, w, 3), dtype=np.float32), (0, 0), 1.5)
    b = np.roll(a, (dy, dx), axis=(0, 1))
    t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]  # noqa: E731
    truth = torch.empty(1, 2, h, w)
    truth[:, 0], truth[:, 1] = dx, dy
    return t(a), t(b), truth


def _inner(x: torch.Tensor) -> torch.Tensor:
    return x[..., 8:-8, 8:-8]


def test_small_corrections_of_an_exact_warm_start_are_dropped():
    im1, im2, truth = _pair()
    wobble = 0.8 * torch.sin(torch.arange(80.0) / 5)[None, None, None, :].expand(1, 2, 64, 80)
    out = select_flow(im1, im2, truth, truth + wobble, radius=3, max_change=12.0)
    kept_init = (_inner(out) == _inner(truth)).all(1)
    moved = _inner(wobble).abs().amax(1) > 0.2  # where the wobble is near zero either choice is right
    assert float(kept_init[moved].float().mean()) > 0.98


def test_a_better_correction_of_a_wrong_warm_start_is_kept():
    im1, im2, truth = _pair()
    wrong = torch.zeros_like(truth)  # 3.6 px off, below max_change: the local errors decide
    out = select_flow(im1, im2, wrong, truth, radius=3, max_change=12.0)
    assert float((_inner(out) == _inner(truth)).all(1).float().mean()) > 0.98


def test_large_corrections_always_pass_and_bad_arguments_are_refused():
    im1, im2, truth = _pair()
    far = truth + 20.0  # worse, but at least max_change from the warm start: kept
    assert torch.equal(select_flow(im1, im2, truth, far, radius=3, max_change=12.0), far)
    with pytest.raises(ValueError, match="radius"):
        select_flow(im1, im2, truth, far, radius=0, max_change=12.0)
    with pytest.raises(ValueError, match="share"):
        select_flow(im1, im2, truth, far[..., :-1], radius=3, max_change=12.0)


def test_without_a_size_rule_the_local_error_decides_large_corrections_too(tmp_path):
    im1, im2, truth = _pair()
    far = truth + 20.0
    out = select_flow(im1, im2, truth, far, radius=3, max_change=None)  # worse and large: dropped now
    assert float((_inner(out) == _inner(truth)).all(1).float().mean()) > 0.98
    with pytest.raises(ValueError, match="max_change"):
        select_flow(im1, im2, truth, far, radius=3, max_change=0.0)

    # The re-tag script writes the rule's absence as a value (JSON null), and the card loads it back.
    import importlib.util
    from pathlib import Path

    import segflow_cli
    from segflow_cli.weights import get_weights

    script = Path(segflow_cli.__file__).parents[1] / "scripts" / "retag_weights.py"
    spec = importlib.util.spec_from_file_location("retag_weights", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(get_weights("segflow-lite").file), str(tmp_path / "w.safetensors"), "--flow-select-max", "12"])
    assert get_weights(str(tmp_path / "w.safetensors")).model_config().flow_select_max == 12.0
    module.main([str(tmp_path / "w.safetensors"), str(tmp_path / "n.safetensors"), "--flow-select-max", "none"])
    assert get_weights(str(tmp_path / "n.safetensors")).model_config().flow_select_max is None
    with pytest.raises(SystemExit):
        module.main([str(tmp_path / "w.safetensors"), str(tmp_path / "x.safetensors"), "--flow-select-max", "-1"])


def test_the_network_selects_at_inference_only_and_old_cards_do_not():
    from segflow_cli.models.lite.model import SegFlowLite

    assert LiteConfig.from_dict({k: v for k, v in LiteConfig().to_dict().items()
                                 if not k.startswith("flow_select")}).flow_select_radius == 0
    torch.manual_seed(0)
    cfg = LiteConfig(trunk_pretrained=False, flow_init="dis-full")
    plain = SegFlowLite(config=cfg).eval()
    with torch.no_grad():  # an untrained flow head outputs no correction: give it one
        for p in plain.flow_decoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    chosen = SegFlowLite(config=dataclasses.replace(cfg, flow_select_radius=3, flow_select_max=12.0)).eval()
    chosen.load_state_dict(plain.state_dict())
    im1, im2, truth = _pair(h=64, w=96)
    init = torch.zeros_like(truth)
    with torch.no_grad():
        raw, sel = plain.flow(im1, im2, flow_init=init), chosen.flow(im1, im2, flow_init=init)
        assert torch.allclose(sel, select_flow(im1, im2, init, raw, radius=3, max_change=12.0))
        assert not torch.equal(sel, raw)
        chosen.train()
        assert torch.equal(chosen.flow(im1, im2, flow_init=init), plain.train().flow(im1, im2, flow_init=init))


def test_a_batch_is_chosen_pair_by_pair():
    im1, im2, truth = _pair()
    other1, other2, _ = _pair(dx=-2, dy=1)
    images1, images2 = torch.cat([im1, other1]), torch.cat([im2, other2])
    init, corrected = torch.cat([truth, truth]), torch.cat([truth + 0.7, truth - 0.7])
    both = select_flow(images1, images2, init, corrected, radius=3, max_change=12.0)
    for i in range(2):
        one = select_flow(images1[i:i + 1], images2[i:i + 1], init[i:i + 1], corrected[i:i + 1], radius=3, max_change=12.0)
        assert torch.equal(both[i:i + 1], one)

