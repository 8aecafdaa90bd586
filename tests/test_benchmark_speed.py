"""`segflow benchmark speed` plumbing with a stand-in network (timing a real one is the benchmark's job)."""

from __future__ import annotations

import json

import numpy as np
import torch
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.eval.speed import measure_speed, synthetic_frames
from segflow_cli.models.types import SegFlowOutput

runner = CliRunner()


class StubNet(torch.nn.Module):
    """Zero flow, zero logits: the shapes of the real contract at no cost."""

    supports_prev_probs = False

    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(1))
        self.calls = 0

    def forward(self, image1, image2, *, prior=None, flow_init=None, prev_probs=None):
        self.calls += 1
        b, _, h, w = image1.shape
        k = 1 if prior is None else prior.shape[1]
        return SegFlowOutput(seg_logits=torch.zeros(b, k, h, w) + self.bias, flow=torch.zeros(b, 2, h, w))


def test_synthetic_frames_pan_and_carry_a_square():
    frames, mask = synthetic_frames(40, 30, 4)
    assert len(frames) == 4 and frames[0].shape == (30, 40, 3) and frames[0].dtype == np.uint8
    assert mask.sum() == (30 // 4) ** 2
    assert not np.array_equal(frames[0], frames[1])


def test_measure_speed_rows_for_flow_and_segmentation():
    net = StubNet()
    rows = measure_speed(width=64, height=48, frames=4, device="cpu", model=net, max_size=64)
    assert [(r["task"], r["method"].split()[0]) for r in rows] == [
        ("flow", "segflow"), ("flow", "dis"), ("segmentation", "segflow"), ("segmentation", "dis-warp")]
    assert all(r["fps"] > 0 for r in rows)
    assert rows[0]["peak_mib"] > 0 and rows[0]["device"] == "cpu"
    assert net.calls >= 2 * (1 + 3)  # warm-up + timed pairs for flow, and the session's frames


def test_speed_command_writes_json_and_rejects_bad_sizes(tmp_path, monkeypatch):
    import segflow_cli.models as models

    monkeypatch.setattr(models, "segflow_lite", lambda **kw: StubNet())
    out = tmp_path / "speed"
    res = runner.invoke(app, ["benchmark", "speed", "--size", "64x48", "--frames", "3", "--random-weights",
                              "--device", "cpu", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "speed.json").read_text())
    assert data["run"]["weights"] == "random init" and data["size"] == [64, 48] and len(data["rows"]) == 4
    assert "frames/s" in res.output
    for args in (["--size", "64by48"], ["--size", "64x48", "--frames", "2", "--random-weights"]):
        res = runner.invoke(app, ["benchmark", "speed", "--device", "cpu", *args])
        assert res.exit_code == 2 and "Traceback" not in res.output
