"""Mask priors and their perturbations: what a tracker's previous mask looks like when it drifts or is lost.

Training (train.samples) perturbs each sample's prior with them and online fine-tuning
(inference.finetune) perturbs the annotated frame's mask; both import them from here, downward.
Masks are (H, W) {0,1} uint8; priors come back as (H, W) float32 in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np


def perturb_mask(mask: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0) -> np.ndarray:
    """(H, W) {0,1} uint8 -> a plausible imperfect prior in [0, 1] float32 (shift, dilate/erode, holes,
    false blobs, blur); about one in ten is returned unchanged."""
    h, w = mask.shape
    m = mask.astype(np.uint8)
    if rng.random() < 0.1:
        return m.astype(np.float32)
    s = strength * rng.uniform(0, 0.04)
    dx, dy = rng.normal(0, s * w), rng.normal(0, s * h)
    m = cv2.warpAffine(m, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), flags=cv2.INTER_NEAREST)
    k = int(rng.integers(1, max(2, int(strength * 0.03 * max(h, w)))))
    if rng.random() < 0.7:
        kern = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        m = cv2.dilate(m, kern) if rng.random() < 0.5 else cv2.erode(m, kern)
    for value in (0, 1):  # a hole in the object, a false blob outside it
        if rng.random() < 0.3 * strength:
            c = (int(rng.integers(w)), int(rng.integers(h)))
            axes = (int(rng.integers(2, w // 8 + 3)), int(rng.integers(2, h // 8 + 3)))
            cv2.ellipse(m, c, axes, float(rng.uniform(0, 180)), 0, 360, value, -1)
    p = m.astype(np.float32)
    if rng.random() < 0.5:
        p = cv2.GaussianBlur(p, (0, 0), rng.uniform(0.5, 3.0))
    return p


def lose_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W) {0,1} uint8 -> the prior of a tracker that has lost the object: empty, moved far away,
    or cut to a fragment (float32). Only matching against the reference frame can recover from it."""
    h, w = mask.shape
    mode = rng.integers(3)
    if mode == 0:
        return np.zeros((h, w), np.float32)
    if mode == 1:
        ang, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.5)
        t = np.float32([[1, 0, np.cos(ang) * dist * w], [0, 1, np.sin(ang) * dist * h]])
        return cv2.warpAffine(mask.astype(np.uint8), t, (w, h), flags=cv2.INTER_NEAREST).astype(np.float32)
    ys, xs = np.mgrid[0:h, 0:w]
    ang = rng.uniform(0, 2 * np.pi)
    proj = np.cos(ang) * xs + np.sin(ang) * ys
    inside = proj[mask > 0]
    cut = np.quantile(inside, rng.uniform(0.6, 0.9)) if inside.size else 0.0
    return ((mask > 0) & (proj > cut)).astype(np.float32)
