"""Random layers of a scene: appearance (premultiplied RGBA canvas) plus motion over T frames."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import shapes, textures
from .config import SceneConfig
from .motion import LayerMotion, similarity


_REVEAL_EDGE = 0.04  # width of the seam between old and new parts of a revealing layer, in shares of the layer


@dataclass(frozen=True)
class Layer:
    canvas: np.ndarray  # (hc, wc, 4) uint8: RGB premultiplied by alpha, alpha 0..255
    motion: LayerMotion  # canvas -> frame coordinates per frame
    object_id: int  # 1..n for labelled objects (assigned back to front), 0 for background/stuff
    gains: np.ndarray  # (T,) float32 lighting change of this layer (1 = none)
    # parts revealed during the clip (SceneConfig.reveal_prob): (second canvas (hc, wc, 4) uint8 with the
    # same alpha, order (hc, wc) float32 in [0, 1]: when each canvas pixel turns, shown (T,) float32: the
    # share of the layer turned by frame t, 0 at frame 0). None: the canvas never changes.
    reveal: tuple | None = None

    def canvas_at(self, t: int) -> np.ndarray:
        """The (hc, wc, 4) premultiplied canvas as frame ``t`` shows it (its alpha never changes, so the
        layer's shape, flow and mask are those of ``canvas``)."""
        if self.reveal is None:
            return self.canvas
        other, order, shown = self.reveal
        if shown[t] <= 0:
            return self.canvas
        m = np.clip((shown[t] - order) / _REVEAL_EDGE, 0.0, 1.0)[..., None]
        out = self.canvas.astype(np.float32) * (1 - m) + other.astype(np.float32) * m
        return np.rint(out).astype(np.uint8)


def _reveal(rng: np.random.Generator, alpha: np.ndarray, rgb: np.ndarray, frames: int) -> tuple:
    """A second look for a layer: ``rgb`` (hc, wc, 3) swept in along a random direction with a wavy front,
    from nothing at frame 0 to 40-90 % of the layer by the last frame (see Layer.reveal)."""
    hc, wc = alpha.shape
    d = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:hc, 0:wc].astype(np.float32)
    ramp = (xs - wc / 2) * math.cos(d) + (ys - hc / 2) * math.sin(d)
    ramp /= max(float(np.abs(ramp).max()), 1.0)
    coarse = rng.normal(0, 0.35, (4, 4)).astype(np.float32)  # the front is wavy, not a straight wipe
    ramp += cv2.resize(coarse, (wc, hc), interpolation=cv2.INTER_CUBIC)
    inside = alpha > 0
    order = np.zeros((hc, wc), np.float32)
    n = int(inside.sum())
    if n:  # rank within the layer: share s of the pixels has turned when shown reaches s
        rank = np.empty(n, np.float32)
        rank[np.argsort(ramp[inside])] = np.arange(n, dtype=np.float32) / max(n - 1, 1)
        order[inside] = rank
    end = rng.uniform(0.4, 0.9)
    shown = (end * np.arange(frames, dtype=np.float32) / max(frames - 1, 1)).astype(np.float32)
    return _premultiply(rgb, alpha), order, shown


def _premultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 colour and (h, w) uint8 alpha -> (h, w, 4) uint8 premultiplied RGBA."""
    a3 = cv2.merge([alpha, alpha, alpha])
    return cv2.merge([cv2.multiply(np.ascontiguousarray(rgb), a3, scale=1 / 255), alpha])


def _gains(cfg: SceneConfig, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(cfg.frames, dtype=np.float32)
    # draw unconditionally: switching photometric effects off must not change the geometry drawn next
    on, drift = rng.random() < 0.5, rng.uniform(-0.5, 0.5)
    if not cfg.photometric or not on:
        return np.ones(cfg.frames, np.float32)
    return (1 + drift * cfg.max_brightness * t).astype(np.float32)


def _wobble(cfg: SceneConfig, rng: np.random.Generator, wc: float, hc: float,
            strength: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Amplitudes (T, 2), frequencies (2,), phases (T, 2) of the two smooth shears."""
    t = np.arange(cfg.frames, dtype=np.float64)[:, None]
    if strength <= 0 or rng.random() < 0.3:  # some layers move rigidly
        return np.zeros((cfg.frames, 2)), np.zeros(2), np.zeros((cfg.frames, 2))
    amax = strength * np.array([wc, hc])  # S1 moves u (width axis), S2 moves v
    amp = np.clip(rng.uniform(-1, 1, 2) * amax + rng.uniform(-0.5, 0.5, 2) * amax * t, -amax, amax)
    freq = 2 * math.pi / (rng.uniform(0.7, 2.0, 2) * np.array([hc, wc]))  # S1 varies along v, S2 along u
    phase = rng.uniform(0, 2 * math.pi, 2) + rng.uniform(-0.6, 0.6, 2) * t
    return amp, freq, phase


def background(cfg: SceneConfig, rng: np.random.Generator, photo: np.ndarray | None) -> Layer:
    """Full-frame layer 0; the caller renders it with reflected borders so it never runs out.
    The camera moves it by a smooth projective transform plus a mild bend."""
    w, h = cfg.size
    wc, hc = round(w * 1.3), round(h * 1.3)
    rgb = textures.texture(wc, hc, rng, photo=photo, photo_prob=cfg.photo_prob)
    t = np.arange(cfg.frames, dtype=np.float64)
    d = rng.uniform(0, 2 * math.pi)
    speed = cfg.camera_translation * w * rng.random() ** 1.5
    acc = rng.normal(0, 0.1 * speed + 1e-9, 2)
    rot = math.radians(cfg.camera_rotation) * rng.uniform(-1, 1)
    zoom = math.log1p(cfg.camera_scale) * rng.uniform(-1, 1)
    p0, dp = rng.uniform(-1, 1, (2, 2)) * cfg.camera_perspective / w
    s0 = rng.uniform(1.0, 1.15)
    mats = []
    for ti in t:
        off = speed * ti * np.array([math.cos(d), math.sin(d)]) + 0.5 * acc * ti * ti
        m = similarity(w / 2 + off[0], h / 2 + off[1], rot * ti, s0 * math.exp(zoom * ti))
        proj = np.eye(3)
        proj[2, :2] = p0 + dp * ti
        mats.append(m @ proj)
    amp, freq, phase = _wobble(cfg, rng, wc, hc, 0.25 * cfg.nonrigid)
    motion = LayerMotion(np.stack(mats), amp, freq, phase, np.array([wc / 2, hc / 2]))
    return Layer(_premultiply(rgb, np.full((hc, wc), 255, np.uint8)), motion, 0, _gains(cfg, rng))


def foreground(cfg: SceneConfig, rng: np.random.Generator, *, photo: np.ndarray | None,
               bg_rgb: np.ndarray, is_object: bool, tracked: bool, reveal_photo: np.ndarray | None = None) -> Layer:
    """A shape with a texture and its own affine motion plus bend. ``tracked`` layers are
    mid-sized objects whose centre stays inside the middle of the frame for all T frames.
    ``reveal_photo``: the photo the second look of a revealing object is cut from (SceneConfig.reveal_prob)."""
    w, h, T = cfg.size[0], cfg.size[1], cfg.frames
    lo, hi = (0.2, 0.45) if tracked else ((0.12, 0.55) if is_object else (0.3, 0.9))
    aspect = math.exp(rng.uniform(-0.6, 0.6))
    wc = int(np.clip(w * rng.uniform(lo, hi) * math.sqrt(aspect), 8, 1.2 * w))
    hc = int(np.clip(w * rng.uniform(lo, hi) / math.sqrt(aspect), 8, 1.2 * h))
    if rng.random() < cfg.similar_texture_prob:  # camouflage: the same texture as the background
        rgb = textures.crop_photo(bg_rgb, wc, hc, rng)
    else:
        rgb = textures.texture(wc, hc, rng, photo=photo, photo_prob=cfg.photo_prob)
    alpha = shapes.random_shape(wc, hc, rng, tex=rgb if photo is not None else None, thin_prob=cfg.thin_prob)
    motion = _motion(cfg, rng, wc, hc, tracked=tracked)
    gains = _gains(cfg, rng)
    reveal = None
    if cfg.reveal_prob > 0 and is_object and rng.random() < cfg.reveal_prob:  # no draw when off: streams unchanged
        rgb2 = textures.texture(wc, hc, rng, photo=reveal_photo, photo_prob=cfg.photo_prob)
        reveal = _reveal(rng, alpha, rgb2, T)
    return Layer(_premultiply(rgb, alpha), motion, int(is_object), gains, reveal)


def twin(cfg: SceneConfig, rng: np.random.Generator, layer: Layer, *, is_object: bool) -> Layer:
    """A layer with ``layer``'s canvas (the same texture and shape) in its own pose and motion, moving as
    a tracked object does (its centre stays in the middle of the frame), so the two meet
    (SceneConfig.twin_prob)."""
    hc, wc = layer.canvas.shape[:2]
    return Layer(layer.canvas, _motion(cfg, rng, wc, hc, tracked=True), int(is_object), _gains(cfg, rng), None)


def _motion(cfg: SceneConfig, rng: np.random.Generator, wc: int, hc: int, *, tracked: bool) -> LayerMotion:
    """A (wc, hc) canvas's motion over the clip: affine steps plus a smooth bend; ``tracked``: its centre
    stays in the middle of the frame and its total scale change within cfg.tracked_zoom."""
    w, h, T = cfg.size[0], cfg.size[1], cfg.frames
    t = np.arange(T, dtype=np.float64)[:, None]
    step = cfg.max_translation * w
    if tracked:
        start = rng.uniform(0.3, 0.7, 2) * (w, h)
        end = rng.uniform(0.2, 0.8, 2) * (w, h)
        vel = (end - start) / max(T - 1, 1)
        vel *= min(1.0, step / max(float(np.linalg.norm(vel)), 1e-9))
        acc = np.zeros(2)
        zoom = rng.uniform(-1, 1) * min(math.log1p(cfg.max_scale), math.log(cfg.tracked_zoom) / max(T - 1, 1))
    else:
        start = rng.uniform(0, 1, 2) * (w, h)
        d = rng.uniform(0, 2 * math.pi)
        vel = step * rng.random() ** 1.5 * np.array([math.cos(d), math.sin(d)])
        acc = rng.normal(0, 0.1 * float(np.linalg.norm(vel)) + 1e-9, 2)
        zoom = rng.uniform(-1, 1) * math.log1p(cfg.max_scale)
    pos = start + vel * t + 0.5 * acc * t * t
    angle = rng.uniform(-math.pi, math.pi) + np.clip(rng.normal(0, 0.5), -1, 1) * math.radians(cfg.max_rotation) * t[:, 0]
    shear = rng.uniform(-1, 1) * cfg.max_shear + rng.uniform(-0.5, 0.5) * cfg.max_shear * t[:, 0]
    scale = rng.uniform(0.85, 1.15) * np.exp(zoom * t[:, 0])
    mats = np.stack([similarity(pos[i, 0], pos[i, 1], angle[i], scale[i], shear[i]) for i in range(T)])
    amp, freq, phase = _wobble(cfg, rng, wc, hc, cfg.nonrigid)
    return LayerMotion(mats, amp, freq, phase, np.array([wc / 2, hc / 2]))
