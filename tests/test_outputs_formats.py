"""`segflow segment --format`: png, rgba, alpha-video, coco and objects, and their round trips."""

import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.data.reentry import two_object_clip
from segflow_cli.inference import create_session
from segflow_cli.inference.outputs import FORMATS, OutputWriter, alpha_to_uint8
from segflow_cli.io import VideoWriter, open_frames, read_alpha_video, read_mask, write_mask

runner = CliRunner()
ALL = [a for f in FORMATS for a in ("--format", f)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("clip")
    frames, masks = two_object_clip(size=(96, 64), frames=10, enters=0, seed=1)
    with VideoWriter(d / "clip.mp4", fps=10.0, size=(96, 64)) as w:
        for f in frames:
            w.write(f)
    write_mask(d / "mask.png", masks[0])
    return d


def _segment(d, out, *extra):
    return runner.invoke(app, ["segment", str(d / "clip.mp4"), "--mask", str(d / "mask.png"), "--out", str(out),
                               "--method", "dis-warp", "--max-size", "64", *extra])


def _probe(path):
    """(pix_fmt with the alpha-aware decoder, frames decoded) from the bundled ffmpeg."""
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    dec = ["-c:v", "libvpx-vp9"] if Path(path).suffix == ".webm" else []
    err = subprocess.run([ff, "-hide_banner", *dec, "-i", str(path), "-f", "null", "-"], capture_output=True,
                         text=True).stderr
    pix = re.search(r"Video: .*?, (yuva?\w+)", err).group(1)
    frames = int(re.findall(r"frame=\s*(\d+)", err)[-1])
    return pix, frames


@pytest.fixture(scope="module")
def run_all(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("all") / "out"
    res = _segment(clip, out, "--start", "2", "--flow", *ALL)
    assert res.exit_code == 0, res.output
    return out


def test_every_format_is_written_with_input_frame_numbers(run_all):
    out = run_all
    names = [f"{i:05d}.png" for i in range(2, 10)]  # --start 2: input frame numbers
    assert sorted(p.name for p in (out / "masks").iterdir()) == names
    assert sorted(p.name for p in (out / "rgba").iterdir()) == names
    assert sorted(p.name for p in (out / "objects").iterdir()) == ["1", "2"]
    for obj in ("1", "2"):
        assert sorted(p.name for p in (out / "objects" / obj).iterdir()) == names
    assert (out / "masks.json").is_file() and (out / "overlay.mp4").is_file() and (out / "flow.mp4").is_file()
    assert not (out / ".partial").exists() and not list(out.glob(".*tmp*"))


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools' decoder, numpy 2
def test_coco_decodes_to_exactly_the_png_masks(run_all):
    from pycocotools import mask as mask_api
    from pycocotools.coco import COCO

    out = run_all
    doc = json.loads((out / "masks.json").read_text())
    assert sorted(img["id"] for img in doc["images"]) == list(range(2, 10))
    assert sorted(c["id"] for c in doc["categories"]) == [1, 2]
    assert doc["info"]["scene_cuts"] == [] and doc["info"]["first_frame"] == 2
    coco = COCO(str(out / "masks.json"))  # any COCO tool reads it
    seen = 0
    for number in range(2, 10):
        png = read_mask(out / "masks" / f"{number:05d}.png")
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[number]))
        assert len({a["category_id"] for a in anns}) == len(anns)  # one per object per frame
        by_obj = {a["category_id"]: a for a in anns}
        for obj in (1, 2):
            expected = png == obj
            if obj not in by_obj:
                assert not expected.any()
                continue
            ann = by_obj[obj]
            assert isinstance(ann["segmentation"]["counts"], str)
            decoded = coco.annToMask(ann).astype(bool)
            assert np.array_equal(decoded, expected), (number, obj)
            rle = dict(ann["segmentation"], counts=ann["segmentation"]["counts"].encode())
            assert ann["area"] == float(mask_api.area(rle)) == expected.sum()
            ys, xs = np.nonzero(expected)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            seen += 1
    assert seen >= 14


def test_objects_folders_are_binary_masks_of_each_id(run_all):
    out = run_all
    for number in (2, 6, 9):
        png = read_mask(out / "masks" / f"{number:05d}.png")
        for obj in (1, 2):
            im = Image.open(out / "objects" / str(obj) / f"{number:05d}.png")
            arr = np.asarray(im)
            assert arr.ndim == 2 and set(np.unique(arr)) <= {0, 255}
            assert np.array_equal(arr == 255, png == obj)


def test_rgba_alpha_is_the_soft_probability_and_rgb_the_frame(clip, run_all):
    out = run_all
    session = create_session(method="dis-warp", max_size=64)
    frames = list(open_frames(clip / "clip.mp4", start=2))
    soft = 0
    for res in session.propagate(iter(frames), first_mask=read_mask(clip / "mask.png")):
        number = 2 + res.index
        rgba = np.asarray(Image.open(out / "rgba" / f"{number:05d}.png"))
        assert rgba.shape == (64, 96, 4) and rgba.dtype == np.uint8
        assert np.array_equal(rgba[..., :3], frames[res.index])
        assert np.array_equal(rgba[..., 3], np.round(255 * res.alpha).astype(np.uint8))
        soft += int(((rgba[..., 3] > 0) & (rgba[..., 3] < 255)).sum())
    assert soft > 0  # the alpha really is the soft mask, not a binary one


def test_alpha_video_has_an_alpha_channel_and_every_frame(run_all):
    out = run_all
    videos = [p for p in out.iterdir() if p.name in ("alpha.webm", "alpha.mov")]
    assert len(videos) == 1
    pix, frames = _probe(videos[0])
    assert pix.startswith("yuva"), pix
    assert frames == 8
    decoded = read_alpha_video(videos[0])
    assert decoded.shape == (8, 64, 96, 4)
    for k, number in enumerate((2, 5, 9)):
        rgba = np.asarray(Image.open(out / "rgba" / f"{number:05d}.png")).astype(int)
        a = decoded[number - 2].astype(int)
        assert np.abs(a[..., 3] - rgba[..., 3]).mean() < 4  # lossy, but the same matte
        assert np.abs(a[..., :3] - rgba[..., :3])[rgba[..., 3] > 128].mean() < 12


def test_output_writer_exact_rgba_and_objects_from_results(tmp_path):
    rng = np.random.default_rng(0)
    h, w = 9, 13
    writer = OutputWriter(tmp_path, fps=5.0, size=(w, h), videos=False, formats=("rgba", "objects", "coco"),
                          object_ids=[1, 3], first_index=7)
    frames, results = [], []
    for i in range(3):
        frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        mask = rng.choice([0, 1, 3, 4 if i == 2 else 0], (h, w)).astype(np.uint8)
        alpha = rng.random((h, w)).astype(np.float32)
        res = SimpleNamespace(index=i, mask=mask, alpha=alpha, flow=None, cut=i == 1)
        writer.write(frame, res)
        frames.append(frame)
        results.append(res)
    assert not (tmp_path / "masks.json").exists()  # written at close only
    writer.close(ok=True)
    for i, (frame, res) in enumerate(zip(frames, results)):
        rgba = np.asarray(Image.open(tmp_path / "rgba" / f"{7 + i:05d}.png"))
        assert np.array_equal(rgba[..., :3], frame)
        assert np.array_equal(rgba[..., 3], alpha_to_uint8(res.alpha))
        assert np.array_equal(rgba[..., 3], np.round(255 * res.alpha).astype(np.uint8))
    assert sorted(p.name for p in (tmp_path / "objects").iterdir()) == ["1", "3", "4"]
    assert sorted(p.name for p in (tmp_path / "objects" / "4").iterdir()) == ["00009.png"]  # from where it appears
    from segflow_cli.io import read_coco_masks

    assert json.loads((tmp_path / "masks.json").read_text())["info"]["scene_cuts"] == [8]
    coco = read_coco_masks(tmp_path / "masks.json")
    assert sorted(coco) == [7, 8, 9]
    for i, res in enumerate(results):
        assert np.array_equal(coco[7 + i], res.mask)
    assert not (tmp_path / "masks").exists()  # png not asked for


def test_interrupted_run_leaves_no_json_or_video(monkeypatch, clip, tmp_path):
    from segflow_cli.inference import outputs

    original, calls = outputs.OutputWriter.write, [0]

    def write(self, frame, res):
        calls[0] += 1
        if calls[0] > 3:
            raise KeyboardInterrupt
        original(self, frame, res)

    monkeypatch.setattr(outputs.OutputWriter, "write", write)
    out = tmp_path / "out"
    res = _segment(clip, out, *ALL)
    assert res.exit_code == 130, res.output
    assert json.loads((out / ".partial").read_text())["last_frame"] == 2
    assert not (out / "masks.json").exists()
    assert not [p for p in out.iterdir() if p.suffix in (".mp4", ".webm", ".mov")]
    assert not list(out.glob(".*tmp*"))
    for folder in ("masks", "rgba", "objects/1", "objects/2"):
        assert sorted(p.name for p in (out / folder).iterdir()) == ["00000.png", "00001.png", "00002.png"], folder
    # --overwrite clears every format's leftovers
    monkeypatch.setattr(outputs.OutputWriter, "write", original)
    res = _segment(clip, out, "--overwrite", "--format", "coco")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["masks.json", "overlay.mp4"]  # flow.mp4 only with --flow


def test_prores_4444_when_ffmpeg_has_no_vp9(monkeypatch, tmp_path):
    from segflow_cli.io import alpha_video

    real = alpha_video._encoders(imageio_ffmpeg.get_ffmpeg_exe())
    if " prores_ks " not in real:
        pytest.skip("the bundled ffmpeg has no prores_ks")
    monkeypatch.setattr(alpha_video, "_encoders", lambda ff: "\n".join(
        line for line in real.splitlines() if "libvpx-vp9" not in line))
    assert alpha_video.alpha_codec() == ("prores_ks", ".mov", "yuva444p10le")
    frames = np.zeros((3, 10, 14, 4), np.uint8)
    frames[..., 0] = 200
    frames[..., 3] = np.linspace(0, 255, 14).astype(np.uint8)
    with alpha_video.AlphaVideoWriter(tmp_path / "a.mov", fps=5.0, size=(14, 10)) as w:
        for f in frames:
            w.write(f)
    pix, n = _probe(tmp_path / "a.mov")
    assert pix.startswith("yuva444p") and n == 3
    back = read_alpha_video(tmp_path / "a.mov")
    assert np.abs(back[..., 3].astype(int) - frames[..., 3]).max() <= 2


@pytest.mark.parametrize("args", [["--format", "gif"], ["--format", "png", "--format", "COCOA"]])
def test_bad_format_is_one_line(clip, tmp_path, args):
    res = _segment(clip, tmp_path / "out", *args)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --format ") and "png, rgba" in lines[0], res.stderr
    assert "Traceback" not in res.output and not (tmp_path / "out").exists()
