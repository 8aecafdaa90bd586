"""`segflow segment A B ... --mask-dir MASKS/ --out OUT/`: batches, one network, --shard K/N."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.data.reentry import two_object_clip
from segflow_cli.inference.segment import parse_shard, plan_batch, video_stem
from segflow_cli.io import VideoWriter, read_mask, write_image, write_mask
from segflow_cli.models import segflow_lite
from segflow_cli.weights import save_weights

runner = CliRunner()
SIZE = (64, 48)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    (d / "masks").mkdir()
    for k in range(4):
        frames, masks = two_object_clip(size=SIZE, frames=5, enters=0, seed=k)
        with VideoWriter(d / f"v{k}.mp4", fps=10.0, size=SIZE) as w:
            for f in frames:
                w.write(f)
        if k == 2:  # a folder of masks named by frame number, as --mask DIR takes
            write_mask(d / "masks" / "v2" / "00000.png", masks[0])
        else:
            write_mask(d / "masks" / f"v{k}.png", masks[0])
    (d / "broken.mp4").write_bytes(b"not a video at all")
    write_mask(d / "masks" / "broken.png", masks[0])
    torch.manual_seed(0)
    save_weights(segflow_lite(trunk_pretrained=False), d / "tiny.safetensors")
    return d


def _run(d, videos, *extra, out=None):
    return runner.invoke(app, ["segment", *[str(d / v) for v in videos], "--mask-dir", str(d / "masks"),
                               "--out", str(out or d / "out"), "--max-size", "64", *extra])


def test_two_videos_and_a_broken_one(batch, tmp_path, monkeypatch):
    import segflow_cli.weights as weights

    loads, real = [], weights.load_model
    monkeypatch.setattr(weights, "load_model", lambda *a, **k: loads.append(a) or real(*a, **k))
    out = tmp_path / "out"
    res = _run(batch, ["v0.mp4", "broken.mp4", "v2.mp4"], "--weights", str(batch / "tiny.safetensors"), out=out)
    assert res.exit_code == 1, res.output
    assert len(loads) == 1  # the network is loaded once for the whole batch
    assert sorted(p.name for p in out.iterdir()) == ["v0", "v2"]
    for stem in ("v0", "v2"):
        assert sorted(p.name for p in (out / stem / "masks").iterdir()) == [f"{i:05d}.png" for i in range(5)]
        assert read_mask(out / stem / "masks" / "00000.png").max() == 2
        assert (out / stem / "overlay.mp4").is_file() and not (out / stem / ".partial").exists()
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: broken: ") and "Traceback" not in res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("v0: 5 frames 64x48") and lines[1].startswith("v2: 5 frames 64x48")
    assert lines[-1].startswith("2 of 3 videos done, 1 failed (broken)")


def test_all_done_exits_zero_and_formats_apply_to_each(batch, tmp_path):
    out = tmp_path / "out"
    res = _run(batch, ["v0.mp4", "v1.mp4"], "--method", "dis-warp", "--format", "coco", "--format", "objects", out=out)
    assert res.exit_code == 0, res.output
    for stem in ("v0", "v1"):
        assert (out / stem / "masks.json").is_file() and (out / stem / "objects" / "1").is_dir()
        assert not (out / stem / "masks").exists()
    assert res.stdout.strip().splitlines()[-1].startswith("2 of 2 videos done ->")


@pytest.mark.parametrize("shard,expected", [("1/2", ["v1", "v3"]), ("0/2", ["broken", "v0", "v2"]),
                                            ("3/4", ["v3"]), ("0/1", ["broken", "v0", "v1", "v2", "v3"])])
def test_shard_takes_every_nth_from_the_kth(batch, tmp_path, shard, expected):
    videos = ["v0.mp4", "v1.mp4", "v2.mp4", "v3.mp4", "broken.mp4"]
    assert [s for _, s, _ in plan_batch([batch / v for v in videos], batch / "masks", tmp_path,
                                        shard=parse_shard(shard))] == sorted(expected, key=lambda s: videos.index(s + ".mp4"))
    if shard == "1/2":  # and the CLI runs exactly those
        out = tmp_path / "out"
        res = _run(batch, videos, "--method", "dis-warp", "--shard", shard, out=out)
        assert res.exit_code == 0, res.output
        assert sorted(p.name for p in out.iterdir()) == expected
        assert res.stdout.strip().splitlines()[-1].startswith("shard 1/2: 2 of 2 videos done")


def test_an_empty_shard_is_not_an_error(batch, tmp_path):
    res = _run(batch, ["v0.mp4"], "--method", "dis-warp", "--shard", "1/2", out=tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert "no videos" in res.stdout and not (tmp_path / "out").exists()


@pytest.mark.parametrize("shard", ["x", "1", "2/2", "-1/2", "1/0", "a/b", "1/2/3"])
def test_bad_shard_is_one_line(batch, tmp_path, shard):
    res = _run(batch, ["v0.mp4", "v1.mp4"], "--method", "dis-warp", "--shard", shard, out=tmp_path / "out")
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --shard {shard}"), res.stderr
    assert "Traceback" not in res.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,words", [
    (["v0.mp4", "v1.mp4", "--mask", "m.png"], "--mask, --box and --point are for one video"),
    (["v0.mp4", "v1.mp4"], "2 videos need --mask-dir"),
    (["v0.mp4", "--mask", "m.png", "--shard", "0/2"], "--shard splits a batch"),
])
def test_bad_batch_usage_is_one_line(batch, tmp_path, args, words):
    res = runner.invoke(app, ["segment", *[str(batch / a) if a.endswith(".mp4") else a for a in args],
                              "--out", str(tmp_path / "out"), "--method", "dis-warp"])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], res.stderr


def test_clashing_stems_and_missing_mask_dir(batch, tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "v0.mp4").write_bytes((batch / "v0.mp4").read_bytes())
    res = runner.invoke(app, ["segment", str(batch / "v0.mp4"), str(tmp_path / "other" / "v0.mp4"),
                              "--mask-dir", str(batch / "masks"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "would both write to" in res.stderr, res.output
    res = _run(batch, ["v0.mp4"], "--mask-dir", str(tmp_path / "nope"), out=tmp_path / "out")
    assert res.exit_code == 2 and "--mask-dir" in res.stderr and "is not a folder" in res.stderr, res.output


def test_a_folder_or_glob_of_frames_is_one_video(batch, tmp_path):
    frames, masks = two_object_clip(size=SIZE, frames=4, enters=0, seed=9)
    for i, f in enumerate(frames):
        write_image(tmp_path / "shot" / f"{i:03d}.png", f)
    write_mask(tmp_path / "masks" / "shot.png", masks[0])
    assert video_stem(tmp_path / "shot") == "shot" and video_stem(str(tmp_path / "shot" / "*.png")) == "shot"
    out = tmp_path / "out"
    res = runner.invoke(app, ["segment", str(tmp_path / "shot" / "*.png"), str(batch / "v0.mp4"),
                              "--mask-dir", str(tmp_path / "masks"), "--out", str(out), "--method", "dis-warp"])
    assert res.exit_code == 1, res.output  # v0 has no mask in this folder: reported, shot still done
    assert sorted(p.name for p in (out / "shot" / "masks").iterdir()) == [f"{i:05d}.png" for i in range(4)]
    assert "error: v0: no mask for v0" in res.stderr
    assert np.array_equal(read_mask(out / "shot" / "masks" / "00000.png"), masks[0])
