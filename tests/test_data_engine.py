"""The procedural scene generator: determinism, exact flow, validity, masks, dataset wrapper."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from segflow_cli.data import SceneConfig, SyntheticScenes, generate_scene
from segflow_cli.errors import SegflowError

SMALL = (128, 96)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def _edges(layers: np.ndarray, r: int = 2) -> np.ndarray:
    """Pixels within r of a change of front-most layer (anti-aliased rims blend two layers)."""
    k = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    return cv2.dilate(layers, k) != cv2.erode(layers, k)


def test_same_seed_same_scene_and_different_seeds_differ():
    cfg = SceneConfig(size=SMALL, frames=3)
    a, b = generate_scene(cfg, 7, index=2), generate_scene(cfg, 7, index=2)
    for name in ("frames", "flows", "valid", "masks"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.frames, generate_scene(cfg, 8, index=2).frames)
    assert not np.array_equal(a.frames, generate_scene(cfg, 7, index=3).frames)


def test_shapes_and_dtypes():
    s = generate_scene(SceneConfig(size=SMALL, frames=4), 0)
    W, H = SMALL
    assert s.frames.shape == (4, H, W, 3) and s.frames.dtype == np.uint8
    assert s.flows.shape == (3, H, W, 2) and s.flows.dtype == np.float32
    assert s.valid.shape == (3, H, W) and s.valid.dtype == bool
    assert s.masks.shape == (4, H, W) and s.masks.dtype == np.uint8
    assert np.isfinite(s.flows).all()


@pytest.mark.parametrize("hard", [{}, {"thin_prob": 0.6}, {"twin_prob": 1.0}], ids=["default", "thin-structures", "twins"])
def test_flow_warps_next_frame_onto_current(hard):
    """Backward-warping frame t+1 with the flow reproduces frame t on valid, non-rim pixels, up to
    bilinear interpolation error (textures are photos, so that error is not zero). The hard-case
    layers (thin structures, look-alike twins) keep the flow exact too; photometric changes are off here."""
    cfg = SceneConfig(size=SMALL, frames=3, photometric=False, **hard)
    errors, zero_flow_errors = [], []
    for seed in range(3):
        for index in range(3):
            s = generate_scene(cfg, seed, index=index)
            H, W = s.masks.shape[1:]
            gx, gy = _grid(H, W)
            for t in range(2):
                mx, my = gx + s.flows[t, ..., 0], gy + s.flows[t, ..., 1]
                warped = cv2.remap(s.frames[t + 1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                rim_next = cv2.remap(_edges(s.layers[t + 1]).astype(np.uint8), mx, my, cv2.INTER_NEAREST,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=1) > 0
                use = s.valid[t] & ~_edges(s.layers[t]) & ~rim_next
                assert use.mean() > 0.3, "validity map is (nearly) empty"
                err = np.abs(warped.astype(np.float32) - s.frames[t]).mean(-1)[use].mean()
                assert err < 6.0, f"seed {seed} scene {index} pair {t}: mean abs error {err:.2f}/255"
                errors.append(err)
                still = np.abs(s.frames[t + 1].astype(np.float32) - s.frames[t]).mean(-1)[use].mean()
                zero_flow_errors.append(still)
    assert np.mean(errors) < 3.0, f"mean abs error {np.mean(errors):.2f}/255"
    assert np.mean(zero_flow_errors) > 3 * np.mean(errors)  # the check can tell a wrong flow


def test_masks_move_with_their_layer():
    cfg = SceneConfig(size=SMALL, frames=3, min_layers=2, max_layers=4, object_prob=1.0)
    checked = 0
    for index in range(4):
        s = generate_scene(cfg, 11, index=index)
        H, W = s.masks.shape[1:]
        gx, gy = _grid(H, W)
        for t in range(2):
            xi = np.clip(np.rint(gx + s.flows[t, ..., 0]), 0, W - 1).astype(int)
            yi = np.clip(np.rint(gy + s.flows[t, ..., 1]), 0, H - 1).astype(int)
            moved = s.masks[t + 1][yi, xi]  # mask of t+1 pulled back to frame t along the flow
            v = s.valid[t]
            for oid in np.unique(s.masks[t][v]):
                if oid == 0 or (s.masks[t][v] == oid).sum() < 30:
                    continue
                a, b = (s.masks[t] == oid) & v, (moved == oid) & v
                iou = (a & b).sum() / max((a | b).sum(), 1)
                assert iou > 0.9, f"object {oid}: IoU {iou:.3f}"
                checked += 1
    assert checked >= 4


def test_validity_marks_occlusion_and_leaving_the_frame():
    cfg = SceneConfig(size=SMALL, frames=2, photometric=False, min_layers=3, max_layers=5)
    s = generate_scene(cfg, 3, index=1)
    H, W = s.masks.shape[1:]
    gx, gy = _grid(H, W)
    X, Y = gx + s.flows[0, ..., 0], gy + s.flows[0, ..., 1]
    outside = (X <= -0.5) | (X >= W - 0.5) | (Y <= -0.5) | (Y >= H - 0.5)
    assert not s.valid[0][outside].any()
    xi, yi = np.clip(np.rint(X), 0, W - 1).astype(int), np.clip(np.rint(Y), 0, H - 1).astype(int)
    nearer = ~outside & (s.layers[1][yi, xi] > s.layers[0])  # lands under a nearer layer
    assert nearer.any() and not s.valid[0][nearer].any()
    same = ~outside & (s.layers[1][yi, xi] == s.layers[0])
    assert s.valid[0][same].all() and not s.valid[0][~same].any()


def test_background_only_scene_is_valid_where_points_stay_inside():
    cfg = SceneConfig(size=SMALL, min_layers=0, max_layers=0, camera_translation=0.1)
    s = generate_scene(cfg, 0, index=0)
    assert (s.masks == 0).all() and (s.layers == 0).all()
    assert s.valid.mean() > 0.5


def test_photometric_effects_leave_geometry_alone():
    on, off = SceneConfig(size=SMALL, frames=3), SceneConfig(size=SMALL, frames=3, photometric=False)
    a, b = generate_scene(on, 5, index=0), generate_scene(off, 5, index=0)
    assert np.array_equal(a.masks, b.masks) and np.array_equal(a.valid, b.valid)
    assert np.allclose(a.flows, b.flows)
    assert not np.array_equal(a.frames, b.frames)


def test_haze_veils_the_frames_and_leaves_geometry_alone():
    hazy, clear = SceneConfig(size=SMALL, frames=3, fog_prob=1.0), SceneConfig(size=SMALL, frames=3)
    a, b = generate_scene(hazy, 5, index=0), generate_scene(clear, 5, index=0)
    assert np.array_equal(a.masks, b.masks) and np.array_equal(a.valid, b.valid) and np.allclose(a.flows, b.flows)
    assert a.frames.std() < 0.85 * b.frames.std()  # the veil lowers contrast
    assert a.frames.mean() > b.frames.mean()  # towards a bright airlight


def test_thin_structures_are_thin_and_off_by_default():
    from segflow_cli.data.shapes import thin

    rng = np.random.default_rng(0)
    cores = []
    for _ in range(20):
        m = thin(120, 90, rng) > 127
        assert m.any() and m.mean() < 0.12  # a line, not an area
        cores.append(cv2.erode(m.astype(np.uint8), np.ones((7, 7), np.uint8)).sum() / m.sum())
    assert max(cores) < 0.1 and np.mean(cores) < 0.02  # 7 px thick only where a twig leaves the stem
    default = SceneConfig(size=SMALL, frames=2)
    assert default.thin_prob == 0.0 and default.fog_prob == 0.0


def test_revealed_parts_change_the_look_not_the_geometry():
    """An object that shows new parts (SceneConfig.reveal_prob): nothing turned at frame 0, 40-90 % of it
    by the last frame, its alpha (so masks, flow and validity) that of the scene rendered without the
    reveal; off by default, with no extra random draw (the default streams stay as they were)."""
    import dataclasses

    from segflow_cli.data import scene as scene_mod

    cfg = SceneConfig(size=SMALL, frames=6, tracking=True, object_prob=1.0, reveal_prob=1.0)
    rng = np.random.default_rng([3, 0])
    layers = scene_mod._layers(cfg, rng)
    revealing = [layer for layer in layers[1:] if layer.reveal is not None]
    assert revealing and all(layer.object_id for layer in revealing)
    for layer in revealing:
        alpha = layer.canvas[..., 3]
        assert np.array_equal(layer.canvas_at(0), layer.canvas)
        for t in range(cfg.frames):
            assert np.array_equal(layer.canvas_at(t)[..., 3], alpha)
        changed = (np.abs(layer.canvas_at(cfg.frames - 1).astype(int) - layer.canvas).max(-1) > 0)[alpha == 255].mean()
        assert 0.3 < changed < 0.95, changed
    with_reveal = scene_mod._render(layers, cfg)
    without = scene_mod._render([dataclasses.replace(layer, reveal=None) for layer in layers], cfg)
    assert np.array_equal(with_reveal[1], without[1])  # owner map: the masks
    for t in range(cfg.frames - 1):
        fa, va = scene_mod._flow(layers, with_reveal[1], with_reveal[2], t, cfg.size)
        fb, vb = scene_mod._flow(layers, without[1], without[2], t, cfg.size)
        assert np.array_equal(fa, fb) and np.array_equal(va, vb)
    assert np.array_equal(with_reveal[0][0], without[0][0])
    assert not np.array_equal(with_reveal[0][-1], without[0][-1])
    plain = SceneConfig(size=SMALL, frames=3, object_prob=1.0)
    assert plain.reveal_prob == 0.0
    assert all(layer.reveal is None for layer in scene_mod._layers(plain, np.random.default_rng([3, 0])))


def test_twins_share_their_look_and_move_on_their_own():
    """SceneConfig.twin_prob: an object's twin is a second layer with the very same canvas (texture and
    shape) right in front of it, its own motion, and its own id when labelled; off by default with no
    extra random draw (the default streams stay as they were)."""
    from segflow_cli.data import scene as scene_mod

    cfg = SceneConfig(size=SMALL, frames=4, tracking=True, object_prob=1.0, twin_prob=1.0, max_layers=3)
    layers = scene_mod._layers(cfg, np.random.default_rng([5, 0]))[1:]
    pairs = [(a, b) for a, b in zip(layers, layers[1:]) if a.canvas is b.canvas]
    assert pairs and len(layers) == 2 * len(pairs)  # every object has its twin right in front of it
    for a, b in pairs:
        assert a.object_id and b.object_id and a.object_id != b.object_id
        assert not np.allclose(a.motion.mats, b.motion.mats)
    s = generate_scene(cfg, 5)
    assert len(np.unique(s.masks[0])) > 2  # the twins are labelled objects of their own
    plain = SceneConfig(size=SMALL, frames=3, object_prob=1.0, max_layers=3)
    assert plain.twin_prob == 0.0
    layers = scene_mod._layers(plain, np.random.default_rng([5, 0]))[1:]
    assert all(a.canvas is not b.canvas for a, b in zip(layers, layers[1:]))


def test_tracking_mode_keeps_an_object_in_view():
    cfg = SceneConfig(size=SMALL, frames=8, tracking=True, max_translation=0.2)
    for index in range(5):
        s = generate_scene(cfg, 2, index=index)
        area = np.stack([[(m == i).sum() for i in range(1, 256)] for m in s.masks])  # (T, ids)
        assert (area.min(0) >= 0.02 * SMALL[0] * SMALL[1]).any(), f"scene {index}: no object stays in view"


def test_object_ids_are_dense_in_depth_order():
    s = generate_scene(SceneConfig(size=SMALL, min_layers=4, max_layers=4, object_prob=1.0), 9)
    ids = np.unique(s.masks)
    assert ids.max() <= 4 and set(ids) <= set(range(5))
    # ids follow depth: a larger id never sits behind a smaller one
    for oid in range(1, 5):
        assert ((s.layers[0] == oid) == (s.masks[0] == oid)).all()


def test_dataset_items_and_loader():
    ds = SyntheticScenes(SceneConfig(size=SMALL, frames=3), length=4, seed=1)
    item = ds[1]
    W, H = SMALL
    assert item["frames"].shape == (3, 3, H, W) and item["frames"].dtype == torch.float32
    assert 0 <= item["frames"].min() and item["frames"].max() <= 1
    assert item["flows"].shape == (2, 2, H, W) and item["valid"].dtype == torch.bool
    assert item["masks"].shape == (3, H, W) and item["masks"].dtype == torch.int64
    s = generate_scene(ds.cfg, 1, index=1)
    assert torch.equal(item["flows"], torch.from_numpy(s.flows).permute(0, 3, 1, 2))
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    assert batch["frames"].shape == (2, 3, 3, H, W)
    assert len(ds) == 4
    with pytest.raises(IndexError):
        ds[4]


@pytest.mark.parametrize("kwargs", [dict(size=(8, 8)), dict(frames=1), dict(min_layers=3, max_layers=2),
                                    dict(object_prob=1.5), dict(reveal_prob=-0.1)])
def test_bad_config_is_a_one_line_error(kwargs):
    with pytest.raises(SegflowError) as err:
        SceneConfig(**kwargs)
    assert "\n" not in str(err.value)


def test_negative_seed_refused():
    with pytest.raises(SegflowError):
        generate_scene(SceneConfig(size=SMALL), -1)
