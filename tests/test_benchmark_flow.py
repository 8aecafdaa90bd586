"""Flow metrics on hand-made fields, dataset layouts, and `segflow benchmark flow` on synthetic pairs."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.errors import SegflowError
from segflow_cli.data.layouts import list_pairs
from segflow_cli.classical import has_tvl1
from segflow_cli.eval.flow_metrics import flow_errors, summarize_flow
from segflow_cli.io import write_flo, write_image, write_kitti_flow

runner = CliRunner()


def test_flow_errors_known_values_validity_and_unknown_flow():
    gt = np.zeros((4, 5, 2), np.float32)
    gt[..., 0], gt[..., 1] = 3.0, 4.0  # |gt| = 5
    pred = np.zeros_like(gt)
    pred[0] = gt[0]  # first row exact
    e = flow_errors(pred, gt)
    assert e.epe == pytest.approx(5 * 15 / 20)
    assert (e.acc1, e.acc3, e.acc5, e.fl_all) == (0.25, 0.25, 0.25, 0.75)  # EPE 5 is not < 5 px
    valid = np.zeros((4, 5), bool)
    valid[1:] = True
    assert flow_errors(pred, gt, valid).epe == 5.0
    gt[3] = 1e10  # Middlebury "unknown" flow is never scored
    assert flow_errors(pred, gt).n_valid == 15
    near = np.full((1, 1, 2), 100.0, np.float32)
    assert flow_errors(near + 4.0, near).fl_all == 0.0  # EPE 5.7 > 3 but < 5 % of 141: not a KITTI outlier
    with pytest.raises(SegflowError):
        flow_errors(pred, gt, np.zeros((4, 5), bool))


def test_summary_means_epe_per_pair_and_pools_pixels():
    a = flow_errors(np.zeros((1, 1, 2), np.float32), np.full((1, 1, 2), [3.0, 4.0], np.float32))  # 1 px, EPE 5
    b = flow_errors(np.zeros((1, 3, 2), np.float32), np.zeros((1, 3, 2), np.float32))  # 3 px, EPE 0
    s = summarize_flow([a, b])
    assert s["EPE"] == 2.5 and s["1px"] == 0.75 and s["Fl-all"] == 0.25


def _texture(h, w, seed):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)


@pytest.fixture()
def folder(tmp_path):
    """Two 96x128 pairs of a smooth random texture shifted by a known integer flow, 8 px border excluded."""
    root = tmp_path / "flowdata"
    for i, (dx, dy) in enumerate([(3, -2), (-1, 4)]):
        big = _texture(160, 192, i)
        h, w, y, x = 96, 128, 30, 30
        d = root / "synth" / f"pair{i}"
        write_image(d / "frame1.png", big[y:y + h, x:x + w])
        write_image(d / "frame2.png", big[y - dy:y - dy + h, x - dx:x - dx + w])  # frame2(p + d) = frame1(p)
        write_flo(d / "flow.flo", np.broadcast_to(np.float32([dx, dy]), (h, w, 2)).copy())
        invalid = np.full((h, w, 3), 255, np.uint8)
        invalid[8:-8, 8:-8] = 0
        write_image(d / "invalid.png", invalid)
    return root


def test_flow_command_scores_dis_and_farneback_on_the_same_pairs(folder, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["benchmark", "flow", "--dataset", "folder", "--root", str(folder),
                              "--method", "dis", "--method", "farneback", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with open(out / "flow_results.csv") as f:
        rows = {r["Method"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"dis", "farneback"}
    assert float(rows["dis"]["EPE"]) < 0.5 and float(rows["dis"]["1px"]) > 0.9  # DIS recovers the shift
    with open(out / "flow_pairs.csv") as f:
        pairs = list(csv.DictReader(f))
    assert [(p["Method"], p["Pair"]) for p in pairs] == [
        ("dis", "synth/pair0"), ("dis", "synth/pair1"), ("farneback", "synth/pair0"), ("farneback", "synth/pair1")]
    data = json.loads((out / "results.json").read_text())
    assert data["pairs"]["dis"]["synth/pair0"]["valid_pixels"] == (96 - 16) * (128 - 16)
    assert "benchmark flow" in data["run"]["command"] and "--method dis --method farneback" in data["run"]["command"]
    assert (out / "flow.png").read_bytes()[:4] == b"\x89PNG"


def test_tvl1_and_unknown_methods(folder):
    res = runner.invoke(app, ["benchmark", "flow", "--root", str(folder), "--method", "tvl1"])
    if has_tvl1():
        assert res.exit_code == 0, res.output
    else:
        assert res.exit_code == 2 and "contrib" in res.output
    res = runner.invoke(app, ["benchmark", "flow", "--root", str(folder), "--method", "raft"])
    assert res.exit_code == 2 and "raft" in res.output
    res = runner.invoke(app, ["benchmark", "flow", "--root", str(folder), "--dataset", "kitti"])
    assert res.exit_code == 2 and "no kitti flow pairs" in res.output


def test_standard_layouts_are_found(tmp_path):
    img = np.zeros((4, 6, 3), np.uint8)
    flow = np.zeros((4, 6, 2), np.float32)
    mb = tmp_path / "mb"
    write_image(mb / "other-data/Grove3/frame10.png", img)
    write_image(mb / "other-data/Grove3/frame11.png", img)
    write_flo(mb / "other-gt-flow/Grove3/flow10.flo", flow)
    assert [p.name for p in list_pairs("middlebury", mb)] == ["Grove3"]
    si = tmp_path / "sintel/training"
    for n in (1, 2, 3):
        write_image(si / f"clean/alley_1/frame_{n:04d}.png", img)
    for n in (1, 2):
        write_flo(si / f"flow/alley_1/frame_{n:04d}.flo", flow)
    inv = np.zeros((4, 6, 3), np.uint8)
    inv[0] = 255
    write_image(si / "invalid/alley_1/frame_0001.png", inv)
    pairs = list_pairs("sintel", tmp_path / "sintel")
    assert [p.name for p in pairs] == ["clean/alley_1/0001", "clean/alley_1/0002"]
    assert pairs[0].truth()[1].sum() == 18  # the white row is excluded
    ch = tmp_path / "chairs"
    for n in (1, 2):
        write_image(ch / f"data/{n:05d}_img1.ppm", img)
        write_image(ch / f"data/{n:05d}_img2.ppm", img)
        write_flo(ch / f"data/{n:05d}_flow.flo", flow)
    assert [p.name for p in list_pairs("chairs", ch)] == ["00001", "00002"]
    (ch / "FlyingChairs_train_val.txt").write_text("1\n2\n")
    assert [p.name for p in list_pairs("chairs", ch)] == ["00002"]  # the validation split
    ki = tmp_path / "kitti/training"
    write_image(ki / "image_2/000000_10.png", img)
    write_image(ki / "image_2/000000_11.png", img)
    valid = np.ones((4, 6), bool)
    valid[:, 0] = False
    write_kitti_flow(ki / "flow_occ/000000_10.png", flow, valid)
    (kp,) = list_pairs("kitti", tmp_path / "kitti")
    assert kp.image2.name == "000000_11.png" and kp.truth()[1].sum() == 20


def test_flow_results_are_reported_per_group(tmp_path):
    """Sintel passes and the folder layout's groups each get their own figures, pooled from their pairs only."""
    from segflow_cli.eval.flow_bench import pair_group

    assert pair_group("sintel/clean_alley_1_0002", "folder") == "sintel-clean"
    assert pair_group("final/market_5/0001", "sintel") == "sintel-final"
    assert pair_group("chairs/0000003", "folder") == "chairs" and pair_group("00012", "chairs") == "chairs"
    root = tmp_path / "flowdata"
    for group, (dx, dy) in (("easy", (1, 0)), ("hard", (9, -7))):
        big = _texture(160, 192, len(group))
        d = root / group / "p"
        write_image(d / "frame1.png", big[30:126, 30:158])
        write_image(d / "frame2.png", big[30 - dy:126 - dy, 30 - dx:158 - dx])
        write_flo(d / "flow.flo", np.broadcast_to(np.float32([dx, dy]), (96, 128, 2)).copy())
    out = tmp_path / "out"
    res = runner.invoke(app, ["benchmark", "flow", "--root", str(root), "--method", "dis", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Per group" in res.output and "…" not in res.output  # piped: tables are not cut at 80 columns
    with open(out / "flow_groups.csv") as f:
        rows = {r["Group"]: r for r in csv.DictReader(f)}
    pairs = json.loads((out / "results.json").read_text())["pairs"]["dis"]
    assert set(rows) == {"easy", "hard"} and all(r["pairs"] == "1" for r in rows.values())
    for g in ("easy", "hard"):
        assert float(rows[g]["EPE"]) == pytest.approx(pairs[f"{g}/p"]["EPE"], abs=1e-5)


def test_segflow_method_runs_with_the_shipped_weights_on_a_fake_tree(folder, tmp_path):
    """The joint network's flow end to end through `benchmark flow`: a small known shift is
    recovered about as well as DIS recovers it (the network refines DIS's warm start)."""
    out = tmp_path / "out"
    res = runner.invoke(app, ["benchmark", "flow", "--dataset", "folder", "--root", str(folder), "--method", "segflow",
                              "--method", "dis", "--device", "cpu", "--threads", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with open(out / "flow_results.csv") as f:
        rows = {r["Method"]: r for r in csv.DictReader(f)}
    assert float(rows["segflow"]["EPE"]) < 1.0 and float(rows["segflow"]["EPE"]) < float(rows["dis"]["EPE"]) + 0.5, rows
    data = json.loads((out / "results.json").read_text())
    assert data["run"]["weights"] == "segflow-lite" or "segflow-lite" in json.dumps(data["run"])


def test_flow_benchmark_times_each_call_without_frames_another_call_kept(folder):
    """dis-match keeps the last two frames' encoder features for a video's next pair; in a benchmark of
    separate pairs that would spare a timed call the passes its warm-up (or another method) already paid."""
    import segflow_cli.models.match_start as ms
    from segflow_cli.eval.flow_bench import run_flow_benchmark

    kept = []

    def counting(a, b):
        kept.append(len(ms._FEATURES))
        return ms.matched_dis(a, b)

    pairs = list_pairs("folder", folder)
    (res,) = run_flow_benchmark(pairs, {"dis-match": counting})
    assert len(kept) == 1 + len(pairs) and kept[1:] == [0] * len(pairs)  # warm-up, then every timed call cold
    assert len(ms._FEATURES) == 2 and res.summary["EPE"] < 1.0  # the method itself still keeps its frames
