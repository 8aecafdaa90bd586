"""`segflow benchmark davis` end to end on a tiny fake DAVIS tree made in tmp_path."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.io import read_mask, write_image, write_mask

runner = CliRunner()
H, W, N = 48, 64, 5


def _box(t: int, half: bool = False) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[10 + t:(20 if half else 30) + t, 12 + 2 * t:36 + 2 * t] = 255  # a box moving right and down
    return m


@pytest.fixture()
def davis(tmp_path):
    """root: 2 sequences x 5 frames (frames: noise texture with a red moving box; 0/255 annotations),
    preds: seq_a = the annotation, seq_b = the top half of the box (J = 0.5 on every scored frame)."""
    rng = np.random.default_rng(0)
    root, preds = tmp_path / "DAVIS", tmp_path / "preds"
    for seq in ("seq_a", "seq_b"):
        bg = rng.integers(0, 255, (H + 8, W + 8, 3), dtype=np.uint8)
        for t in range(N):
            frame = bg[t:t + H, t:t + W].copy()
            frame[_box(t) > 0] = (220, 30, 30)
            write_image(root / "JPEGImages" / "480p" / seq / f"{t:05d}.jpg", frame)
            (root / "Annotations" / "480p" / seq).mkdir(parents=True, exist_ok=True)
            from PIL import Image

            Image.fromarray(_box(t)).save(root / "Annotations" / "480p" / seq / f"{t:05d}.png")
            write_mask(preds / seq / f"{t:05d}.png", (_box(t, half=seq == "seq_b") > 0).astype(np.uint8))
    (root / "ImageSets" / "2016").mkdir(parents=True)
    (root / "ImageSets" / "2016" / "val.txt").write_text("seq_a\nseq_b\n")
    return root, preds


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_predictions_scored_like_the_toolkit_with_all_outputs(davis, tmp_path):
    root, preds = davis
    out = tmp_path / "out"
    res = runner.invoke(app, ["benchmark", "davis", "--root", str(root), "--predictions", str(preds), "--out", str(out)])
    assert res.exit_code == 0, res.output
    (g,) = _csv(out / "global_results.csv")
    assert list(g) == ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay", "T-Mean"]
    assert float(g["J-Mean"]) == pytest.approx(0.75)  # (1.0 + 0.5) / 2 over objects
    assert float(g["J-Recall"]) == pytest.approx(0.5)  # 0.5 is not > 0.5
    assert float(g["T-Mean"]) == 0.0  # rigid translations are perfectly stable
    rows = {r["Sequence"]: r for r in _csv(out / "per-sequence_results.csv")}
    assert list(rows["seq_a"]) == ["Sequence", "J-Mean", "F-Mean", "T-Mean"]
    assert float(rows["seq_a"]["J-Mean"]) == 1.0 and float(rows["seq_a"]["F-Mean"]) == 1.0
    assert float(rows["seq_b"]["J-Mean"]) == pytest.approx(0.5) and float(rows["seq_b"]["F-Mean"]) < 1.0
    data = json.loads((out / "results.json").read_text())
    assert "benchmark davis" in data["run"]["command"] and data["run"]["torch"]
    assert data["objects"]["seq_b"]["J_per_frame"] == pytest.approx([0.5, 0.5, 0.5])  # frames 1..N-2 only
    assert len(data["objects"]["seq_a"]["T_per_pair"]) == N - 3
    assert (out / "davis.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*"))  # no temporary files left behind
    assert "75.0" in res.output  # the table prints published-style percentages


def test_missing_prediction_folder_and_bad_options_are_one_line_errors(davis, tmp_path):
    root, preds = davis
    (preds / "seq_b" / "00001.png").unlink()  # a missing frame is an empty mask, as in the toolkit
    ok = runner.invoke(app, ["benchmark", "davis", "--root", str(root), "--predictions", str(preds), "--no-t"])
    assert ok.exit_code == 0, ok.output
    for args, needle in (
        (["--predictions", str(tmp_path / "nope")], "--predictions"),
        (["--predictions", str(preds), "--sequences", "seq_a,ghost"], "ghost"),
        (["--predictions", str(preds), "--year", "2018"], "--year"),
        (["--method", "dis-warp", "--threshold", "0"], "--threshold 0"),
    ):
        res = runner.invoke(app, ["benchmark", "davis", "--root", str(root), *args])
        assert res.exit_code == 2, res.output
        assert needle in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["benchmark", "davis", "--root", str(tmp_path), "--predictions", str(preds)])
    assert res.exit_code == 2 and "Annotations" in res.output


def test_groups_report_the_global_figures_over_their_sequences(davis, tmp_path):
    """--group NAME=a,b: each group's row and results.json entry are the toolkit's global figures computed
    over its sequences alone (here one perfect sequence and one at J = 0.5); bad groups are one-line errors."""
    root, preds = davis
    out = tmp_path / "out"
    res = runner.invoke(app, ["benchmark", "davis", "--root", str(root), "--predictions", str(preds), "--out", str(out),
                              "--no-t", "--group", "good=seq_a", "--group", "half=seq_b", "--group", "both=seq_a,seq_b"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    g = data["groups"]
    assert g["good"]["sequences"] == ["seq_a"] and g["good"]["J-Mean"] == pytest.approx(1.0)
    assert g["half"]["J-Mean"] == pytest.approx(0.5) and g["half"]["F-Mean"] < 1.0
    assert {k: v for k, v in g["both"].items() if k != "sequences"} == pytest.approx(data["global"], nan_ok=True)
    assert "good (1)" in res.output and "half (1)" in res.output
    for spec, needle in (("tuning=seq_a,ghost", "ghost"), ("noequals", "NAME=seq1,seq2"), ("=seq_a", "NAME=seq1,seq2")):
        bad = runner.invoke(app, ["benchmark", "davis", "--root", str(root), "--predictions", str(preds), "--group", spec])
        assert bad.exit_code == 2 and "--group" in bad.output and needle in bad.output, bad.output
        assert "Traceback" not in bad.output


def test_dis_warp_run_writes_masks_that_score_the_same_through_predictions(davis, tmp_path):
    root, _ = davis
    out = tmp_path / "run"
    res = runner.invoke(app, ["benchmark", "davis", "--root", str(root), "--method", "dis-warp", "--sequences", "seq_a",
                              "--out", str(out), "--no-t", "--threshold", "0.45"])
    assert res.exit_code == 0, res.output
    masks = sorted((out / "predictions" / "seq_a").glob("*.png"))
    assert [m.name for m in masks] == [f"{t:05d}.png" for t in range(N)]
    assert read_mask(masks[0]).tolist() == (_box(0) > 0).astype(np.uint8).tolist()  # frame 0 is the given mask
    (g_run,) = _csv(out / "global_results.csv")
    assert float(g_run["J-Mean"]) > 0.2  # the masks still overlap the moving box (how well is the method's business)
    data = json.loads((out / "results.json").read_text())
    assert data["frames_per_second"]["seq_a"] > 0 and data["run"]["method"] == "dis-warp"
    assert data["run"]["threshold"] == 0.45  # the run record names the mask decision it was scored with
    again = tmp_path / "again"
    res = runner.invoke(app, ["benchmark", "davis", "--root", str(root), "--predictions", str(out / "predictions"),
                              "--sequences", "seq_a", "--out", str(again), "--no-t"])
    assert res.exit_code == 0, res.output
    (g_pred,) = _csv(again / "global_results.csv")
    assert g_pred["J&F-Mean"] == g_run["J&F-Mean"]


@pytest.mark.parametrize("method", ["segflow", "propagate"])
def test_network_methods_run_with_the_shipped_weights_on_a_fake_tree(davis, tmp_path, method):
    """The default method and the joint network, end to end: masks per frame, toolkit tables, and a
    run record naming the method and the shipped weights."""
    root, _ = davis
    out = tmp_path / "run"
    res = runner.invoke(app, ["benchmark", "davis", "--root", str(root), "--method", method, "--sequences", "seq_a",
                              "--out", str(out), "--no-t", "--device", "cpu", "--threads", "1"])
    assert res.exit_code == 0, res.output
    masks = sorted((out / "predictions" / "seq_a").glob("*.png"))
    assert [m.name for m in masks] == [f"{t:05d}.png" for t in range(N)]
    (g_run,) = _csv(out / "global_results.csv")
    assert float(g_run["J-Mean"]) > 0.3, g_run  # the red box is easy to follow from its first mask
    data = json.loads((out / "results.json").read_text())
    assert data["run"]["method"] == method and "segflow-lite" in json.dumps(data["run"])
