"""`segflow segment` end to end on tiny synthetic clips, the session API, and every bad input."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.data.example import example_scene
from segflow_cli.inference import create_session
from segflow_cli.io import VideoWriter, open_frames, read_mask, write_mask
from segflow_cli.models import segflow_lite
from segflow_cli.weights import save_weights

runner = CliRunner()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("clip")
    scene = example_scene(frames=6, size=(97, 65), seed=5)  # odd size on purpose
    with VideoWriter(d / "clip.mp4", fps=10.0, size=(97, 65)) as w:
        for f in scene.frames:
            w.write(f)
    write_mask(d / "mask.png", scene.masks[0])
    torch.manual_seed(0)
    save_weights(segflow_lite(trunk_pretrained=False), d / "tiny.safetensors")
    return d, scene


def _segment(d, out, *extra):
    return runner.invoke(app, ["segment", str(d / "clip.mp4"), "--mask", str(d / "mask.png"), "--out", str(out),
                               "--weights", str(d / "tiny.safetensors"), "--max-size", "96", *extra])


def test_outputs_have_count_size_fps_and_palette(clip, tmp_path):
    d, scene = clip
    res = _segment(d, tmp_path / "out", "--flow", "--save-flow", "--alpha")
    assert res.exit_code == 0, res.output
    masks = sorted((tmp_path / "out" / "masks").glob("*.png"))
    assert [m.name for m in masks] == [f"{i:05d}.png" for i in range(6)]
    im = Image.open(masks[3])
    assert im.mode == "P" and im.size == (97, 65)
    assert set(np.unique(read_mask(masks[0]))) == set(np.unique(scene.masks[0]))  # ids kept
    for name in ("overlay.mp4", "flow.mp4", "alpha.mp4"):
        src = open_frames(tmp_path / "out" / name)
        assert src.size == (97, 65) and abs(src.fps - 10.0) < 1e-3
        assert sum(1 for _ in src) == 6
    assert len(list((tmp_path / "out" / "flow").glob("*.flo"))) == 5


def test_flow_video_is_asked_for_and_the_masks_do_not_depend_on_it(clip, tmp_path):
    """By default no flow.mp4 (the default method's masks need no flow, so none is computed); --flow
    writes it, with the same masks; --save-flow alone writes the .flo files without the video."""
    d, _ = clip
    res = _segment(d, tmp_path / "fast")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "fast" / "overlay.mp4").exists() and not (tmp_path / "fast" / "flow.mp4").exists()
    assert _segment(d, tmp_path / "full", "--flow").exit_code == 0
    assert sum(1 for _ in open_frames(tmp_path / "full" / "flow.mp4")) == 6
    for i in range(6):
        name = f"{i:05d}.png"
        assert np.array_equal(read_mask(tmp_path / "fast" / "masks" / name), read_mask(tmp_path / "full" / "masks" / name))
    res = _segment(d, tmp_path / "flo", "--save-flow")
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "flo" / "flow").glob("*.flo"))) == 5 and not (tmp_path / "flo" / "flow.mp4").exists()


@pytest.mark.filterwarnings("error:.*autograd kernel was not registered")  # fine-tuning must not train a fused copy
def test_session_and_cli_give_identical_masks(clip, tmp_path):
    d, scene = clip
    assert _segment(d, tmp_path / "cli", "--method", "segflow", "--finetune-steps", "3").exit_code == 0

    # The same route as the CLI (weights by path: the runner's own folded key encoder, bf16 where the CPU
    # has tiles); a model passed in is used as it is, so its keys may differ from the CLI's by rounding.
    session = create_session(method="segflow", weights=str(d / "tiny.safetensors"), max_size=96, device="cpu",
                             finetune_steps=3)  # fine-tuning is seeded
    for res in session.propagate(open_frames(d / "clip.mp4"), first_mask=read_mask(d / "mask.png")):
        assert np.array_equal(res.mask, read_mask(tmp_path / "cli" / "masks" / f"{res.index:05d}.png"))


def _translation_clip(n=8, step=3, size=(160, 120)):
    import cv2

    rng = np.random.default_rng(0)
    w, h = size
    # Smooth textures (blurred noise): i.i.d. pixel noise has no coarse structure for any flow method.
    smooth = lambda *shape: cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 2.0)  # noqa: E731
    bg = np.clip(smooth(h, w + n * step + 40, 3) * 400 - 70, 0, 255).astype(np.uint8)
    obj = np.clip(smooth(40, 50, 3) * 300 + np.float32([40, 140, 200]) - 130, 0, 255).astype(np.uint8)
    frames, masks = [], []
    bg[40:80, 30:80] = obj  # the object is part of the scene; the camera pans across it
    for t in range(n):  # a pure translation: every pixel moves `step` pixels left per frame
        x = t * step
        f = bg[:, x : x + w].copy()
        m = np.zeros((h, w), np.uint8)
        m[40:80, 30 - x : 80 - x] = 1
        frames.append(f)
        masks.append(m)
    return frames, masks


def test_dis_warp_follows_a_translating_object():
    frames, masks = _translation_clip()
    session = create_session(method="dis-warp", max_size=160)
    ious = []
    for res in session.propagate(frames, first_mask=masks[0]):
        p, g = res.mask == 1, masks[res.index] == 1
        ious.append((p & g).sum() / (p | g).sum())
    assert min(ious) > 0.9, ious


@pytest.mark.parametrize("case", ["missing_video", "not_video", "empty_folder", "mask_size", "empty_mask",
                                  "mask_not_image", "out_not_writable", "missing_weights", "corrupt_weights"])
def test_bad_input_is_one_line_error(clip, tmp_path, case):
    d, _ = clip
    video, mask, out, weights = str(d / "clip.mp4"), str(d / "mask.png"), tmp_path / "out", str(d / "tiny.safetensors")
    if case == "missing_video":
        video = str(tmp_path / "nope.mp4")
    elif case == "not_video":
        (tmp_path / "text.mp4").write_text("hello")
        video = str(tmp_path / "text.mp4")
    elif case == "empty_folder":
        (tmp_path / "frames").mkdir()
        video = str(tmp_path / "frames")
    elif case == "mask_size":
        write_mask(tmp_path / "small.png", np.ones((10, 10), np.uint8))
        mask = str(tmp_path / "small.png")
    elif case == "empty_mask":
        write_mask(tmp_path / "empty.png", np.zeros((65, 97), np.uint8))
        mask = str(tmp_path / "empty.png")
    elif case == "mask_not_image":
        (tmp_path / "mask.png").write_text("not a png")
        mask = str(tmp_path / "mask.png")
    elif case == "out_not_writable":
        out.write_text("a file where the folder should be")
    elif case == "missing_weights":
        weights = str(tmp_path / "none.safetensors")
    elif case == "corrupt_weights":
        (tmp_path / "bad.safetensors").write_bytes(Path(weights).read_bytes()[:1000])
        weights = str(tmp_path / "bad.safetensors")
    res = runner.invoke(app, ["segment", video, "--mask", mask, "--out", str(out), "--weights", weights])
    assert res.exit_code != 0
    lines = [l for l in res.output.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert "Traceback" not in res.output
    if case != "out_not_writable":
        assert not out.exists() or not any(out.rglob("*"))  # nothing half-written


def test_finetuning_changes_the_network_and_every_video_starts_fresh(clip):
    d, scene = clip
    from segflow_cli.weights import load_model

    model, _, _ = load_model(str(d / "tiny.safetensors"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    session = create_session(method="segflow", model=model, max_size=96, device="cpu", finetune_steps=3)
    frames = list(open_frames(d / "clip.mp4"))
    first = [r.mask for r in session.propagate(frames, first_mask=scene.masks[0])]
    assert session.finetune_seconds > 0
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # it trained
    again = [r.mask for r in session.propagate(frames, first_mask=scene.masks[0])]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # restarted from the same weights


def test_finetuning_without_a_memory_trains_one_object_a_sample(clip):
    """The path for networks without a memory (``memory=False``): each sample is one object's augmented
    mask and perturbed prior, (1, h, w), against its own reference; two objects here, and it trains."""
    d, scene = clip
    from segflow_cli.inference.finetune import _copy
    from segflow_cli.weights import load_model

    fg = scene.masks[0] != 0
    right = np.arange(fg.shape[1])[None, :] > np.median(np.nonzero(fg)[1])
    two = np.where(fg, np.where(right, 2, 1), 0).astype(np.uint8)  # the objects' left and right halves
    onehot = np.stack([(two == i).astype(np.float32) for i in (1, 2)])
    img, mask, prior = _copy(np.zeros((*two.shape, 3), np.uint8), onehot, np.random.default_rng(0), only=1)
    assert mask.shape == prior.shape == (1, *two.shape) and img.shape == (3, *two.shape)
    model, _, _ = load_model(str(d / "tiny.safetensors"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    session = create_session(method="segflow", model=model, max_size=96, device="cpu", finetune_steps=2, memory=False)
    masks = [r.mask for r in session.propagate(open_frames(d / "clip.mp4"), first_mask=two)]
    assert session.finetune_seconds > 0 and set(np.unique(masks[0])) == {0, 1, 2}
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_segment_video_reports_its_unrounded_rate(clip, tmp_path):
    """``stats`` gets the run's frames, seconds and frames/s unrounded (what `benchmark speed` reads); the
    summary shows the same rate to one decimal."""
    import re

    from segflow_cli.inference.segment import segment_video

    d, _ = clip
    stats: dict = {}
    summary = segment_video(d / "clip.mp4", d / "mask.png", tmp_path / "o", weights=str(d / "tiny.safetensors"),
                            max_size=96, flow_video=False, stats=stats)
    assert stats["frames"] == 6 and stats["seconds"] > 0
    assert stats["fps"] == pytest.approx(stats["frames"] / stats["seconds"], rel=0.01)
    assert re.search(r"\(([\d.]+) frames/s", summary).group(1) == f"{stats['fps']:.1f}"
