"""Layered synthetic scenes with exact flow, validity and object masks (FlyingChairs/AutoFlow-like).

A background plus 1-8 foreground layers are composited back to front. Each layer maps its canvas to
the frame with an exactly invertible motion (see motion.py): rendering frame t pulls canvas pixels
through G_t with cv2.remap, and the forward flow of a pixel x owned by layer L in frame t is
F^L_{t+1}(G^L_t(x)) - x. The pair's validity is False where that point leaves the image or lies
behind a nearer layer in frame t+1 (its landing pixel belongs to another layer).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from . import effects, textures
from .config import SceneConfig
from .layers import Layer, background, foreground, twin


@dataclass
class Scene:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    flows: np.ndarray  # (T-1, H, W, 2) float32, frame t -> t+1, (dx, dy) in pixels
    valid: np.ndarray  # (T-1, H, W) bool, False where occluded in t+1 or outside the image
    masks: np.ndarray  # (T, H, W) uint8 object ids (0 = background / unlabelled), visible parts
    layers: np.ndarray  # (T, H, W) uint8 index of the front-most layer (0 = background)


def _layers(cfg: SceneConfig, rng: np.random.Generator) -> list[Layer]:
    """Background first, then foreground layers back to front; objects numbered 1..n in that order."""
    photos = dict(builtin=cfg.builtin_photos, dirs=cfg.photo_dirs)
    draw_photo = cfg.photo_prob > 0
    bg = background(cfg, rng, textures.random_photo(rng, **photos) if draw_photo else None)
    n = int(rng.integers(cfg.min_layers, cfg.max_layers + 1))
    if cfg.tracking:
        n = max(n, 1)
    tracked = int(rng.integers(n // 2, n)) if cfg.tracking else -1
    bg_rgb = bg.canvas[..., :3]
    out, next_id = [bg], 1
    for i in range(n):
        is_object = i == tracked or rng.random() < cfg.object_prob
        photo = textures.random_photo(rng, **photos) if draw_photo else None
        second = textures.random_photo(rng, **photos) if draw_photo and cfg.reveal_prob > 0 else None
        layer = foreground(cfg, rng, photo=photo, bg_rgb=bg_rgb, is_object=is_object, tracked=i == tracked,
                           reveal_photo=second)
        if is_object:
            layer = dataclasses.replace(layer, object_id=next_id)
            next_id += 1
        out.append(layer)
        if cfg.twin_prob > 0 and is_object and rng.random() < cfg.twin_prob:  # no draw when off: streams unchanged
            double = twin(cfg, rng, layer, is_object=rng.random() < cfg.object_prob)
            if double.object_id:
                double = dataclasses.replace(double, object_id=next_id)
                next_id += 1
            out.append(double)  # in front of the original: the two occlude each other as they cross
    return out


def _render(layers: list[Layer], cfg: SceneConfig):
    """-> frames (T, H, W, 3) float32 0..255, owner (T, H, W) uint8 and, per frame and layer,
    (box, u, v): the canvas coordinates of every pixel of the layer's box (None if off-screen)."""
    (W, H), T = cfg.size, cfg.frames
    xs, ys = np.arange(W, dtype=np.float32)[None, :], np.arange(H, dtype=np.float32)[:, None]
    frames = np.empty((T, H, W, 3), np.float32)
    owner = np.zeros((T, H, W), np.uint8)
    maps: list[list] = [[None] * len(layers) for _ in range(T)]
    for t in range(T):
        bg = layers[0]
        u, v = np.broadcast_arrays(*bg.motion.inverse(t, xs, ys))
        u, v = np.ascontiguousarray(u), np.ascontiguousarray(v)
        img = cv2.remap(bg.canvas[..., :3], u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        frames[t] = img
        if bg.gains[t] != 1:
            frames[t] *= bg.gains[t]
        maps[t][0] = ((0, 0, W, H), u, v)
        for i, layer in enumerate(layers[1:], 1):
            hc, wc = layer.canvas.shape[:2]
            box = layer.motion.bbox(t, wc, hc, cfg.size)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            u, v = np.broadcast_arrays(*layer.motion.inverse(t, xs[:, x0:x1], ys[y0:y1]))
            u, v = np.ascontiguousarray(u), np.ascontiguousarray(v)
            rgba = cv2.remap(layer.canvas_at(t), u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            alpha = rgba[..., 3]
            if not alpha.any():
                continue
            a = alpha.astype(np.float32)[..., None] * np.float32(1 / 255)
            region = frames[t, y0:y1, x0:x1]
            region *= 1 - a  # "over" with premultiplied colour
            region += rgba[..., :3].astype(np.float32) * layer.gains[t]
            owner[t, y0:y1, x0:x1][alpha > 127] = i
            maps[t][i] = (box, u, v)
    return frames, owner, maps


def _flow(layers: list[Layer], owner: np.ndarray, maps: list[list], t: int, size: tuple[int, int]):
    """Forward flow (H, W, 2) and validity (H, W) of frame t -> t+1 for the front-most layer."""
    W, H = size
    flow = np.zeros((H, W, 2), np.float32)
    valid = np.zeros((H, W), bool)
    for i, entry in enumerate(maps[t]):
        if entry is None:
            continue
        (x0, y0, x1, y1), u, v = entry
        sel = owner[t, y0:y1, x0:x1] == i
        gy, gx = np.nonzero(sel)
        if gy.size == 0:
            continue
        X, Y = layers[i].motion.forward(t + 1, u[sel], v[sel])
        gx, gy = gx + x0, gy + y0
        flow[gy, gx, 0] = X - gx
        flow[gy, gx, 1] = Y - gy
        inside = (X > -0.5) & (X < W - 0.5) & (Y > -0.5) & (Y < H - 0.5)
        xi = np.clip(np.rint(X), 0, W - 1).astype(np.intp)
        yi = np.clip(np.rint(Y), 0, H - 1).astype(np.intp)
        # visible in t+1 only if this layer owns the landing pixel: a nearer owner occludes it; a
        # farther one means it sits on this layer's anti-aliased rim, where the mask says "not here"
        valid[gy, gx] = inside & (owner[t + 1, yi, xi] == i)
    return flow, valid


def generate_scene(cfg: SceneConfig, seed: int, *, index: int = 0) -> Scene:
    """Draw scene ``index`` of the stream ``seed`` (both >= 0): the same (cfg, seed, index) always
    gives identical arrays. See :class:`Scene` for shapes and dtypes."""
    from ..errors import SegflowError

    if seed < 0 or index < 0:
        raise SegflowError(f"seed {seed} / index {index}: use non-negative integers")
    rng = np.random.default_rng([seed, index])
    layers = _layers(cfg, rng)
    frames_f, owner, maps = _render(layers, cfg)
    pairs = [_flow(layers, owner, maps, t, cfg.size) for t in range(cfg.frames - 1)]
    flows = np.stack([p[0] for p in pairs])
    valid = np.stack([p[1] for p in pairs])
    ids = np.array([layer.object_id for layer in layers], np.uint8)
    frames = effects.apply(frames_f, flows, cfg, rng)
    return Scene(frames=frames, flows=flows, valid=valid, masks=ids[owner], layers=owner)
