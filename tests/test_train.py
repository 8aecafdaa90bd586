"""Training: a tiny run overfits, resumes exactly, survives SIGKILL, and runs under 2-process DDP."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from segflow_cli.train import TrainConfig, train
from segflow_cli.train.checkpoint import load_checkpoint
from segflow_cli.train.loop import build, make_optimizer

TINY = dict(size=(64, 64), batch_size=2, workers=0, val_samples=2, log_every=1, warmup=1, train_samples=2, slow_motion=0)


def _losses(out):
    return [r["loss"] for r in map(json.loads, (out / "log.jsonl").read_text().splitlines()) if "loss" in r]


def test_overfits_a_few_samples(tmp_path):
    train(TrainConfig(out=tmp_path, steps=40, lr=2e-3, schedule="joint", val_every=100, ckpt_every=100,
                      export=str(tmp_path / "exp" / "tiny.safetensors"), **TINY))
    losses = _losses(tmp_path)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first / 2, (first, last)
    assert (tmp_path / "weights.safetensors").is_file() and (tmp_path / "checkpoint.pt").is_file()
    card = json.loads((tmp_path / "exp" / "tiny.json").read_text())
    assert card["training"]["steps"] == 40 and card["architecture"] == "segflow-lite" and "iou" in card["metrics"]["validation"]["synthetic"]
    engine = card["training"]["data_engine_settings"]  # enough to regenerate the exact training stream
    assert engine["seed"] == 0 and [sc["size"] for sc in engine["scene_configs"]] == [[64, 64]]
    assert engine["scene_configs"][0]["frames"] == 4  # the pair plus a reference 3 frames from the current one


def test_resume_continues_exactly(tmp_path):
    cfg = dict(steps=6, switch_every=2, val_every=100, ckpt_every=3, **TINY)
    train(TrainConfig(out=tmp_path / "a", **cfg))
    res = train(TrainConfig(out=tmp_path / "b", stop_at=3, **cfg))
    assert res["step"] == 3
    train(TrainConfig(out=tmp_path / "b", resume=True, **cfg))
    steps_b = [r["step"] for r in map(json.loads, (tmp_path / "b" / "log.jsonl").read_text().splitlines()) if "loss" in r]
    assert steps_b == [1, 2, 3, 4, 5, 6]  # the resumed run picked up at step 4
    states = []
    for run in ("a", "b"):
        fresh = _fresh(tmp_path, **cfg)
        step, _ = load_checkpoint(tmp_path / run / "checkpoint.pt", **fresh)
        states.append((step, fresh["model"].state_dict(), fresh["optimizer"].state_dict()))
    (sa, ma, oa), (sb, mb, ob) = states
    assert sa == sb == 6
    for k in ma:
        assert torch.allclose(ma[k].float(), mb[k].float(), atol=1e-5), k
    for pid, st in oa["state"].items():
        assert torch.allclose(st["exp_avg"], ob["state"][pid]["exp_avg"], atol=1e-6)
        assert torch.allclose(st["exp_avg_sq"], ob["state"][pid]["exp_avg_sq"], atol=1e-6)


def _cli(*args):
    return [sys.executable, "-m", "segflow_cli.cli", "train", "--size", "64x64", "--batch-size", "2", "--workers", "0",
            "--train-samples", "2", "--val-every", "1000", *args]


def test_sigkill_then_resume(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(_cli("--out", str(out), "--steps", "500", "--ckpt-every", "2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ckpt, deadline = out / "checkpoint.pt", time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert ckpt.exists()
    step = torch.load(ckpt, map_location="cpu", weights_only=True)["step"]
    assert 2 <= step < 500
    done = subprocess.run(_cli("--out", str(out), "--steps", "500", "--resume", "--stop-at", str(step + 2)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert torch.load(ckpt, map_location="cpu", weights_only=True)["step"] == step + 2


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed support")
def test_ddp_two_processes_gloo(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "segflow_cli.cli", "train", "--out", str(tmp_path), "--steps", "3", "--size", "64x64",
           "--batch-size", "1", "--workers", "0", "--train-samples", "4", "--val-every", "3", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = torch.load(tmp_path / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 3 and not any(k.startswith("module.") for k in ckpt["model"])


def test_real_sets_mix_into_training_and_validation(tmp_path):
    """--data folder=PATH adds labelled flow pairs to the stream; --val-data scores them too."""
    import numpy as np
    from PIL import Image

    from segflow_cli.io import write_flo

    rng = np.random.default_rng(0)
    for i in range(2):
        d = tmp_path / "pairs" / f"p{i}"
        d.mkdir(parents=True)
        img = (rng.random((72, 90, 3)) * 255).astype(np.uint8)
        Image.fromarray(img).save(d / "frame1.png")
        Image.fromarray(np.roll(img, 2, axis=1)).save(d / "frame2.png")
        flow = np.zeros((72, 90, 2), np.float32)
        flow[..., 0] = 2
        write_flo(d / "flow.flo", flow)
    tiny = {**TINY, "train_samples": 0}
    res = train(TrainConfig(out=tmp_path / "run", steps=4, schedule="joint", val_every=4, ckpt_every=4,
                            data=("synthetic", f"folder={tmp_path / 'pairs'}"), val_data=(f"folder={tmp_path / 'pairs'}",), **tiny))
    assert res["step"] == 4 and set(res["val"]) == {"synthetic", "folder"}
    assert res["val"]["folder"]["init_epe"] < 1.0  # DIS finds the 2 px shift; the set was really read


def test_cli_trains_one_phase_and_rejects_unknown_phases(tmp_path):
    """`--phases flow` trains only the flow side (the segmentation side stays bit-identical)."""
    from typer.testing import CliRunner

    from segflow_cli.cli import app

    bad = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "bad"), "--phases", "seg,depth"])
    assert bad.exit_code != 0 and "phases must be seg and/or flow" in bad.output and "Traceback" not in bad.output
    share = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "bad2"), "--reveal-prob", "2"])
    assert share.exit_code != 0 and "--reveal-prob 2.0: must lie in [0, 1]" in share.output and "Traceback" not in share.output
    assert not (tmp_path / "bad2").exists()  # refused before the run folder is written
    cfg = dict(steps=2, val_every=100, ckpt_every=100, **TINY)
    train(TrainConfig(out=tmp_path / "init", export=str(tmp_path / "init.safetensors"), **cfg))
    res = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "f"), "--init", str(tmp_path / "init.safetensors"),
                                   "--phases", "flow", "--steps", "2", "--size", "64x64", "--batch-size", "2",
                                   "--workers", "0", "--train-samples", "2", "--lr", "1e-2", "--val-every", "100"])
    assert res.exit_code == 0, res.output
    from segflow_cli.weights import load_model

    before, after = load_model(str(tmp_path / "init.safetensors"))[0], load_model(str(tmp_path / "f" / "weights.safetensors"))[0]
    # The trunk is what the flow loss reaches (through the fusion's seg->flow path) and what a flow
    # phase must leave alone: parameters and BatchNorm statistics bit-identical.
    tb, ta = before.trunk.state_dict(), after.trunk.state_dict()
    assert all(torch.equal(tb[k], ta[k]) for k in tb)
    assert not torch.equal(before.flow_decoder.state_dict()["levels.8.head.weight"], after.flow_decoder.state_dict()["levels.8.head.weight"])


def test_hard_case_data_reaches_the_scenes_and_the_card(tmp_path):
    """--thin-prob / --fog-prob: the training scenes carry them and the card records them."""
    from segflow_cli.train.data import data_engine_settings, scene_configs

    cfg = TrainConfig(out=tmp_path, thin_prob=0.3, fog_prob=0.2, **TINY)
    assert all(sc.thin_prob == 0.3 and sc.fog_prob == 0.2 for sc in scene_configs(cfg))
    engine = data_engine_settings(cfg)
    assert {(sc["thin_prob"], sc["fog_prob"]) for sc in engine["scene_configs"]} == {(0.3, 0.2)}


def test_time_limit_stops_with_a_checkpoint_and_snapshots_are_kept(tmp_path):
    """--time-limit ends a run early with its checkpoint and weights (a lent machine's end; --resume
    continues); --keep-snapshots keeps each validation's weights beside the latest."""
    from typer.testing import CliRunner

    from segflow_cli.cli import app

    res = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "t"), "--steps", "500", "--size", "64x64", "--batch-size", "2",
                                   "--workers", "0", "--train-samples", "2", "--val-every", "2", "--ckpt-every", "1000",
                                   "--time-limit", "0.001", "--keep-snapshots"])
    assert res.exit_code == 0, res.output
    step, _ = load_checkpoint(tmp_path / "t" / "checkpoint.pt", **_fresh(tmp_path))
    assert step == 1  # stopped after the first step, not at 500
    assert (tmp_path / "t" / "weights.safetensors").is_file() and (tmp_path / "t" / "weights-step1.safetensors").is_file()
    card = json.loads((tmp_path / "t" / "weights-step1.json").read_text())
    assert card["training"]["steps"] == 1 and card["training"]["config"]["time_limit"] == 0.001
    with pytest.raises(Exception, match="time_limit"):
        TrainConfig(out=tmp_path, time_limit=-1)


def _fresh(tmp_path, **cfg):
    """A newly built network, optimiser and scheduler to load a checkpoint into."""
    tc = TrainConfig(out=tmp_path, **(cfg or TINY))
    model = build(tc)
    opt, sched = make_optimizer(model, tc)
    return {"model": model, "optimizer": opt, "scheduler": sched}


LOADER_CHECK = """
import cv2, numpy as np, torch
from segflow_cli.train.loop import start_loader
cv2.GaussianBlur(np.random.rand(1000, 1000).astype(np.float32), (31, 31), 5)  # both pools in use before the fork
torch.randn(500, 500) @ torch.randn(500, 500)
before = cv2.getNumThreads()
class Counts(torch.utils.data.Dataset):
    def __len__(self):
        return 4
    def __getitem__(self, i):
        cv2.GaussianBlur(np.random.rand(500, 500).astype(np.float32), (15, 15), 3)
        return torch.tensor([cv2.getNumThreads(), torch.get_num_threads()])
print([b.tolist() for b in start_loader(Counts(), workers=2, batch_sampler=[[0, 1], [2, 3]])], before == cv2.getNumThreads())
"""


def test_loader_workers_run_one_thread_each():
    """Data workers generate with one OpenCV and one torch thread each (a pool per worker would put
    workers x cores threads on the machine), also after the training process used both pools, and the
    training process keeps its own count."""
    res = subprocess.run([sys.executable, "-c", LOADER_CHECK], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["[[[1,", "1],", "[1,", "1]],", "[[1,", "1],", "[1,", "1]]]", "True"], res.stdout


def test_snapshot_deltas_rebuild_the_snapshot_bit_for_bit(tmp_path):
    """scripts/snapshot_deltas.py: a flow-phase run's snapshots packed as deltas against its init (only
    flow tensors travel) and rebuilt here with every tensor and the metadata the run wrote (how a lent
    GPU's snapshots come back within its file limits)."""
    import importlib.util
    from pathlib import Path

    import segflow_cli

    spec = importlib.util.spec_from_file_location("snapshot_deltas", Path(segflow_cli.__file__).parents[1] / "scripts" / "snapshot_deltas.py")
    deltas = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deltas)
    base = tmp_path / "base.safetensors"
    train(TrainConfig(out=tmp_path / "init", steps=1, val_every=100, ckpt_every=100, export=str(base), **TINY))
    run = tmp_path / "f"
    train(TrainConfig(out=run, init=str(base), phases=("flow",), steps=2, lr=1e-2, val_every=1, ckpt_every=100,
                      keep_snapshots=True, trunk_lr_scale=0, **TINY))
    counts = deltas.pack(run, base, tmp_path / "F")
    assert set(counts) == {1, 2} and 0 < counts[2] < 605 // 2  # flow-side tensors only
    deltas.apply(tmp_path / "F.safetensors", base, 2, tmp_path / "rebuilt.safetensors")
    from safetensors import safe_open

    from segflow_cli.weights import sha256_of

    with safe_open(str(tmp_path / "rebuilt.safetensors"), "pt") as a, safe_open(str(run / "weights-step2.safetensors"), "pt") as b:
        assert a.metadata() == b.metadata() and sorted(a.keys()) == sorted(b.keys())
        assert all(torch.equal(a.get_tensor(k), b.get_tensor(k)) for k in b.keys())  # every tensor bit for bit
    card = json.loads((tmp_path / "rebuilt.json").read_text())
    assert card["training"]["steps"] == 2 and card["sha256"] == sha256_of(tmp_path / "rebuilt.safetensors")
    with pytest.raises(SystemExit, match="holds steps 1, 2"):
        deltas.apply(tmp_path / "F.safetensors", base, 3, tmp_path / "x.safetensors")
