"""Box prompts: GrabCut turns a box into the first-frame mask, and `segment --box` tracks from it."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.data.example import example_scene, write_example
from segflow_cli.eval.davis_metrics import region_similarity
from segflow_cli.inference.prompts import mask_from_boxes, parse_box
from segflow_cli.io import read_mask

runner = CliRunner()


def _box(mask: np.ndarray, margin: int = 4) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()) - margin, int(ys.min()) - margin, int(xs.max()) + margin + 1, int(ys.max()) + margin + 1


def test_a_box_around_each_object_gives_its_mask():
    scene = example_scene(frames=2)
    ids = [int(i) for i in np.unique(scene.masks[0]) if i]
    mask = mask_from_boxes(scene.frames[0], [_box(scene.masks[0] == i) for i in ids])
    for new, gt in enumerate(ids, start=1):
        assert region_similarity(scene.masks[0] == gt, mask == new) >= 0.8


def test_segment_with_a_box_tracks_the_object(tmp_path):
    scene = example_scene(frames=12)
    video, _ = write_example(tmp_path / "in", frames=12)
    obj = int(np.unique(scene.masks[0])[1])
    x0, y0, x1, y1 = _box(scene.masks[0] == obj)
    res = runner.invoke(app, ["segment", str(video), "--box", f"{x0},{y0},{x1},{y1}", "--out", str(tmp_path / "out"),
                              "--max-size", "256"])
    assert res.exit_code == 0, res.output
    masks = sorted((tmp_path / "out" / "masks").glob("*.png"))
    assert len(masks) == 12
    assert region_similarity(scene.masks[0] == obj, read_mask(masks[0]) == 1) >= 0.8  # the box's mask is written
    js = [region_similarity(scene.masks[t] == obj, read_mask(masks[t]) == 1) for t in range(1, 12)]
    assert np.mean(js) >= 0.7, js


def test_bad_boxes_are_one_line_errors(tmp_path):
    video, mask = write_example(tmp_path / "in", frames=3)
    for args in (["--box", "1,2,3"], ["--box", "5,5,6,6"], ["--box", "0,0,50,50", "--mask", str(mask)], []):
        res = runner.invoke(app, ["segment", str(video), *args, "--out", str(tmp_path / "o")])
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1
    assert parse_box("1,2,30.4,40") == (1, 2, 30, 40)


def test_a_mask_folder_adds_objects_at_later_frames(tmp_path):
    """--mask DIR: masks named by frame number; a later one adds the object entering there, and a mask
    one pixel narrower than the frames (the judo clip's 853-px masks) is resized with a warning."""
    import cv2

    from segflow_cli.data.reentry import two_object_clip
    from segflow_cli.io import write_mask

    frames, masks = two_object_clip(size=(256, 160), frames=16, enters=4)
    (tmp_path / "frames").mkdir()
    for t, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / "frames" / f"{t:05d}.png"), f[..., ::-1])
    write_mask(tmp_path / "masks" / "00000.png", (masks[0] == 1).astype(np.uint8))
    write_mask(tmp_path / "masks" / "00006.png", ((masks[6] == 2) * 2).astype(np.uint8)[:, :-1])
    import pytest

    with pytest.warns(UserWarning, match="00006.png is 255x160, the video 256x160: resized to fit"):
        res = runner.invoke(app, ["segment", str(tmp_path / "frames"), "--mask", str(tmp_path / "masks"),
                                  "--out", str(tmp_path / "out"), "--max-size", "256"])
    assert res.exit_code == 0, res.output
    out = [read_mask(tmp_path / "out" / "masks" / f"{t:05d}.png") for t in range(16)]
    assert not (out[5] == 2).any() and all((out[t] == 2).any() for t in range(6, 16))
    assert region_similarity(masks[15] == 2, out[15] == 2) >= 0.6
    res = runner.invoke(app, ["segment", str(tmp_path / "frames"), "--mask", str(tmp_path / "masks"), "--start", "3",
                              "--out", str(tmp_path / "out2")])
    assert res.exit_code == 2 and "00003.png" in res.output and "Traceback" not in res.output


def test_segment_with_a_point_inside_each_object(tmp_path):
    """--point X,Y: the network's features around the click seed GrabCut (distinct objects here)."""
    import cv2
    import scipy.ndimage as ndi

    from segflow_cli.data.reentry import two_object_clip

    frames, masks = two_object_clip(size=(256, 160), frames=6, enters=0)
    (tmp_path / "frames").mkdir()
    for t, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / "frames" / f"{t:05d}.png"), f[..., ::-1])
    args = []
    for oid in (1, 2):
        d = ndi.distance_transform_edt(masks[0] == oid)
        y, x = np.unravel_index(d.argmax(), d.shape)
        args += ["--point", f"{x},{y}"]
    res = runner.invoke(app, ["segment", str(tmp_path / "frames"), *args, "--out", str(tmp_path / "out"), "--max-size", "256"])
    assert res.exit_code == 0, res.output
    first = read_mask(tmp_path / "out" / "masks" / "00000.png")
    assert region_similarity(masks[0] == 1, first == 1) >= 0.8 and region_similarity(masks[0] == 2, first == 2) >= 0.6
    res = runner.invoke(app, ["segment", str(tmp_path / "frames"), "--point", "900,10", "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "outside" in res.output and not (tmp_path / "o2").exists()


def test_the_python_session_starts_from_a_box_or_a_point():
    import scipy.ndimage as ndi

    from segflow_cli.data.reentry import two_object_clip
    from segflow_cli.inference import create_session

    frames, masks = two_object_clip(size=(256, 160), frames=4, enters=0)
    session = create_session(max_size=256, compute_flow=False)
    first = session.start(frames[0], box=_box(masks[0] == 1))
    assert region_similarity(masks[0] == 1, first.mask == 1) >= 0.8 and session.object_ids == [1]
    assert region_similarity(masks[1] == 1, session.step(frames[1]).mask == 1) >= 0.7
    d = ndi.distance_transform_edt(masks[0] == 2)
    y, x = np.unravel_index(d.argmax(), d.shape)
    first = session.start(frames[0], point=(int(x), int(y)))
    assert region_similarity(masks[0] == 2, first.mask == 1) >= 0.6


def test_the_same_box_gives_the_same_mask_whatever_ran_before():
    """GrabCut starts its colour models from k-means on OpenCV's global RNG; on generated clip 6's object 2
    the mask's IoU ranged 0.54-0.79 with the RNG's state (stop 37). Each box now seeds it."""
    import cv2

    from segflow_cli.eval.synthetic import validation_clips

    scene = validation_clips(clips=1, start=6, frames=2, size=(512, 288))[0]
    box = _box(scene.masks[0] == 2, margin=0)
    first = mask_from_boxes(scene.frames[0], [box])
    for seed in (0, 1, 7):
        cv2.setRNGSeed(seed)  # whatever used the RNG before
        assert (mask_from_boxes(scene.frames[0], [box]) == first).all()
