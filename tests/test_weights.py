"""Weights registry: safetensors round trip, cards, and one-line errors for bad files."""

import json

import pytest
import torch
from safetensors.torch import save_file

from segflow_cli.errors import WeightsError
from segflow_cli.models import segflow_lite
from segflow_cli.weights import list_cards, load_model, resolve, save_weights


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    m = segflow_lite(trunk_pretrained=False, corr_radius=2)
    sha = save_weights(m, d / "tiny.safetensors", card={"training": {"steps": 3}})
    return d, m, sha


def test_round_trip_restores_config_and_fp16_weights(saved):
    d, m, sha = saved
    loaded, card, digest = load_model(str(d / "tiny.safetensors"))
    assert digest == sha == card["sha256"]
    assert loaded.config.corr_radius == 2 and card["training"]["steps"] == 3
    for (k, a), (_, b) in zip(m.state_dict().items(), loaded.state_dict().items()):
        if a.is_floating_point():
            assert torch.allclose(a, b, atol=1e-2, rtol=1e-2), k
    assert not any(k.startswith("module.") for k in loaded.state_dict())


def test_registry_by_name_and_sha_check(saved, monkeypatch):
    d, _, sha = saved
    monkeypatch.setenv("SEGFLOW_WEIGHTS_DIR", str(d))
    assert "tiny" in list_cards()
    path, card = resolve("tiny")
    assert path.name == "tiny.safetensors" and card["sha256"] == sha
    with pytest.raises(WeightsError, match="no trained weights named 'nope'"):
        resolve("nope")
    bad = json.loads((d / "tiny.json").read_text())
    bad["name"], bad["sha256"] = "tampered", "0" * 64
    (d / "tampered.json").write_text(json.dumps(bad))
    with pytest.raises(WeightsError, match="sha256"):
        resolve("tampered")


def test_missing_truncated_and_foreign_files(saved, tmp_path):
    d, _, _ = saved
    with pytest.raises(WeightsError, match="not found"):
        load_model(str(tmp_path / "missing.safetensors"))
    data = (d / "tiny.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        load_model(str(tmp_path / "cut.safetensors"))
    save_file({"w": torch.zeros(3)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(WeightsError, match="no segflow architecture"):
        load_model(str(tmp_path / "foreign.safetensors"))
    save_file({"w": torch.zeros(3)}, str(tmp_path / "wrong.safetensors"), metadata={"architecture": "segflow-lite", "config": "{}"})
    with pytest.raises(WeightsError, match="does not fit segflow-lite"):
        load_model(str(tmp_path / "wrong.safetensors"))
