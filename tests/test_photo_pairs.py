"""The independent flow validation renderer (eval.photo_pairs): exact flow, repeatable, clear errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segflow_cli.errors import SegflowError
from segflow_cli.eval.photo_pairs import PhotoPairConfig, load_photos, photo_pairs


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    """Four smooth random colour fields as photos (bilinear sampling of them is nearly exact)."""
    d = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(4):
        small = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
        cv2.imwrite(str(d / f"p{i}.png"), cv2.resize(small, (400, 300), interpolation=cv2.INTER_CUBIC))
    (d / "notes.txt").write_text("not an image")
    return d


def test_flow_is_exact_on_visible_pixels(photo_dir):
    cfg = PhotoPairConfig(size=(320, 192), max_motion=60.0, photometric=0.0, noise=0.0)
    for pair in photo_pairs(3, folder=photo_dir, seed=1, config=cfg):
        h, w = pair.flow.shape[:2]
        assert pair.frame1.shape == pair.frame2.shape == (h, w, 3) and pair.visible.shape == (h, w)
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        back = cv2.remap(pair.frame2, xs + pair.flow[..., 0], ys + pair.flow[..., 1], cv2.INTER_LINEAR)
        v = pair.visible
        assert 0.5 < v.mean() <= 1.0
        warped = np.abs(back.astype(float) - pair.frame1)[v].mean()
        still = np.abs(pair.frame2.astype(float) - pair.frame1)[v].mean()
        assert np.abs(pair.flow).max() > 2.0  # something moves
        assert warped < 1.5 and warped < 0.2 * still  # the flow explains the motion; no flow does not


def test_same_seed_same_pairs_and_effects_change_frame2(photo_dir):
    a = photo_pairs(2, folder=photo_dir, seed=3, config=PhotoPairConfig(size=(256, 160)))
    b = photo_pairs(2, folder=photo_dir, seed=3, config=PhotoPairConfig(size=(256, 160)))
    for p, q in zip(a, b):
        assert np.array_equal(p.frame1, q.frame1) and np.array_equal(p.frame2, q.frame2)
        assert np.array_equal(p.flow, q.flow)
    c = photo_pairs(2, folder=photo_dir, seed=4, config=PhotoPairConfig(size=(256, 160)))
    assert not np.array_equal(a[0].flow, c[0].flow)


def test_photo_folder_errors_name_the_fix(tmp_path, photo_dir):
    with pytest.raises(SegflowError, match="opencv-doc"):
        load_photos(tmp_path / "missing")
    assert len(load_photos(photo_dir)) == 4  # the .txt is skipped
    with pytest.raises(SegflowError, match="at least 3"):
        load_photos(tmp_path)


def test_haze_and_motion_blur_change_the_frames_not_the_scene(photo_dir):
    """The Sintel-final-like options (off by default) draw after the scene: the first pair's flow and
    visibility equal the plain pair's, haze lowers the frames' contrast, motion blur smooths the moving
    layers, and the flow still explains the motion under haze."""
    base = dict(size=(320, 192), max_motion=60.0, photometric=0.0, noise=0.0)
    plain = photo_pairs(1, folder=photo_dir, seed=5, config=PhotoPairConfig(**base))[0]
    hazy = photo_pairs(1, folder=photo_dir, seed=5, config=PhotoPairConfig(**base, haze=1.0))[0]
    smeared = photo_pairs(1, folder=photo_dir, seed=5, config=PhotoPairConfig(**base, motion_blur=1.0))[0]
    for q in (hazy, smeared):
        assert np.array_equal(q.flow, plain.flow) and np.array_equal(q.visible, plain.visible)
        assert not np.array_equal(q.frame1, plain.frame1)
    assert hazy.frame1.astype(float).std() < plain.frame1.astype(float).std()
    grad = lambda im: np.abs(np.diff(im.astype(float), axis=1)).mean()  # noqa: E731
    assert grad(smeared.frame1) < grad(plain.frame1)
    h, w = hazy.flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    back = cv2.remap(hazy.frame2, xs + hazy.flow[..., 0], ys + hazy.flow[..., 1], cv2.INTER_LINEAR)
    v = hazy.visible
    warped = np.abs(back.astype(float) - hazy.frame1)[v].mean()
    still = np.abs(hazy.frame2.astype(float) - hazy.frame1)[v].mean()
    assert warped < 0.3 * still
