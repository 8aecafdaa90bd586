"""`segflow benchmark speed` with the real network at a small size (timing figures are the benchmark's
job; here: every row is measured, on the real path, and the command writes its JSON)."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.eval.speed import measure_speed, synthetic_frames

runner = CliRunner()


def test_synthetic_frames_pan_and_carry_a_square():
    frames, mask = synthetic_frames(40, 30, 4)
    assert len(frames) == 4 and frames[0].shape == (30, 40, 3) and frames[0].dtype == np.uint8
    assert mask.sum() == (30 // 4) ** 2
    assert not np.array_equal(frames[0], frames[1])


def test_measure_speed_rows_with_the_shipped_network():
    rows = measure_speed(width=96, height=64, frames=4, device="cpu", max_size=96)
    assert [(r["task"], r["method"]) for r in rows] == [
        ("flow", "segflow"), ("flow", "dis (OpenCV, cpu)"), ("segmentation", "segflow"),
        ("segmentation", "segflow + flow output (segment --method segflow --flow)"), ("segmentation", "segflow --no-memory"), ("segmentation", "propagate"), ("segmentation", "propagate + flow output"),
        ("segment end to end", "propagate"), ("segment end to end", "propagate --flow"),
        ("segmentation", "dis-warp (cpu)")]
    assert all(r["fps"] > 0 for r in rows)
    assert rows[0]["peak_mib"] > 0 and rows[0]["device"] == "cpu"


def test_speed_command_writes_json_and_rejects_bad_sizes(tmp_path):
    out = tmp_path / "speed"
    res = runner.invoke(app, ["benchmark", "speed", "--size", "64x48", "--frames", "3", "--random-weights",
                              "--device", "cpu", "--max-size", "64", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "speed.json").read_text())
    assert data["run"]["weights"] == "random init" and data["size"] == [64, 48] and len(data["rows"]) == 10
    assert "frames/s" in res.output
    for args in (["--size", "64by48"], ["--size", "64x48", "--frames", "2", "--random-weights"]):
        res = runner.invoke(app, ["benchmark", "speed", "--device", "cpu", *args])
        assert res.exit_code == 2 and "Traceback" not in res.output
