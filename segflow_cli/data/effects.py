"""Photometric effects on rendered frames: global brightness change, blur, motion blur, haze, noise.

They change pixel values only; the flow ground truth stays the geometric motion of the surfaces.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .config import SceneConfig


def _line_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised kernel that averages along a line segment (a linear motion blur)."""
    k = int(math.ceil(length)) | 1
    kern = np.zeros((k, k), np.float32)
    c = k // 2
    dx, dy = math.cos(angle) * (length - 1) / 2, math.sin(angle) * (length - 1) / 2
    cv2.line(kern, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return kern / kern.sum()


def _haze(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A haze veil fixed to the view (as fog in a shot): density (H, W, 1) in 0.2..0.75, smooth (a
    vertical gradient plus low-frequency variation), and a greyish airlight colour (3,)."""
    coarse = rng.uniform(0, 1, (4, 4)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), h, dtype=np.float32)[:, None]
    lo, hi = sorted(rng.uniform(0.2, 0.75, 2))
    field = field + ramp
    field = (field - field.min()) / max(float(np.ptp(field)), 1e-6)
    density = (lo + (hi - lo) * field)[..., None].astype(np.float32)
    airlight = (rng.uniform(170, 235) + rng.uniform(-12, 12, 3)).astype(np.float32)
    return density, airlight


def apply(frames: np.ndarray, flows: np.ndarray, cfg: SceneConfig, rng: np.random.Generator) -> np.ndarray:
    """frames (T, H, W, 3) float32 in 0..255 (modified in place), flows (T-1, H, W, 2) float32
    -> (T, H, W, 3) uint8. With ``cfg.photometric`` False it only rounds and clips."""
    if cfg.photometric:
        T, H, W = frames.shape[:3]
        b = cfg.max_brightness
        gain = 1 + rng.uniform(-b, b) + rng.uniform(-b, b) * np.arange(T) / max(T - 1, 1)
        bias = rng.uniform(-b, b) * 40
        sigma = rng.uniform(0, cfg.max_noise) * 255 if rng.random() < 0.5 else 0.0
        noise = rng.standard_normal((H, W, 3), dtype=np.float32) * np.float32(sigma) if sigma else None
        veil = _haze(H, W, rng) if cfg.fog_prob > 0 and rng.random() < cfg.fog_prob else None
        for t in range(T):
            f = frames[t]
            if rng.random() < cfg.motion_blur_prob:
                mean = flows[min(t, T - 2)].reshape(-1, 2)[:: 97].mean(0)  # sparse sample is enough
                length = float(np.clip(np.hypot(*mean) * rng.uniform(0.2, 0.6), 3, 15))
                f = cv2.filter2D(f, -1, _line_kernel(length, math.atan2(mean[1], mean[0])),
                                 borderType=cv2.BORDER_REFLECT)
            if rng.random() < cfg.blur_prob:
                f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.4, 1.5))
            if veil is not None:  # I = J (1 - a) + A a, the haze model (a: the veil's density, A: airlight)
                density, airlight = veil
                f = f * (1 - density) + airlight * density
            f = f * np.float32(gain[t]) + np.float32(bias)
            if noise is not None:
                # one noise field rolled by a random offset per frame: independent-looking and cheap
                f += np.roll(noise, (int(rng.integers(H)), int(rng.integers(W))), axis=(0, 1))
            frames[t] = f
    np.clip(frames, 0, 255, out=frames)
    return (frames + 0.5).astype(np.uint8)
