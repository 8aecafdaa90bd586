"""Flow pairs rendered from a folder of photos by a renderer of their own: a validation set that shares
neither images nor code with the training generator (``segflow_cli.data``), for choosing flow settings.

Why: settings chosen on pairs from the training generator reward fitting that generator (stop 23/24:
the generated pairs preferred the smallest residual gate, the real pairs a larger one; RESULTS.md).
The real pairs in ../shared/data are what gets reported, so they cannot choose. This renderer draws
its scenes differently on purpose: a background photo seen by a moving camera (a homography between
the two frames) and 2-4 cut-outs of other photos (random star-shaped polygons), each moved by its own
rotation, scaling and a heavy-tailed translation (up to ``max_motion`` px), painted back to front;
then, for some pairs, a brightness/contrast/gamma change, defocus of the second frame and sensor noise.

Every layer is rendered by inverse mapping (texture coordinates -> image, one 3x3 matrix a frame), so
frame 1's flow is exact: pixel x of layer L moves to M2_L M1_L^-1 x, where L is the top layer at x
(its mask is sampled nearest-neighbour, the same test that decides which layer is painted there).
``visible``: x's destination lies inside frame 2 and shows the same layer there.

Shapes: frames (H, W, 3) uint8 RGB, flow (H, W, 2) float32 (u right, v down), visible (H, W) bool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..errors import SegflowError
from ..io.images import IMAGE_SUFFIXES, read_image

# The photos of Debian's opencv-doc package (apt-get install opencv-doc): about 100 images, none of
# them among the training generator's (scikit-image, scikit-learn and matplotlib samples).
DEFAULT_PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")
VAL_SEED = 20261205


@dataclass(frozen=True)
class PhotoPairConfig:
    """size (W, H) of the frames; max_motion: the largest cut-out translation in px (drawn as
    max_motion * u^2, u uniform: most motions small, a tail of large ones); camera: the camera's
    largest translation in px; photometric: share of pairs whose second frame changes brightness,
    contrast and gamma and may be defocused; noise: the sensor noise's largest sigma (grey levels).
    haze: share of pairs seen through haze (both frames blended towards a grey-white airlight by a
    density that grows smoothly across the frame, up to 0.6); motion_blur: share of pairs whose moving
    layers are smeared along their own motion (a line kernel of up to half the layer's displacement, each
    frame), as in Sintel's final pass. Both 0 by default: the standard set of stops 24-31 stays as it was."""

    size: tuple[int, int] = (768, 384)
    max_motion: float = 150.0
    camera: float = 24.0
    photometric: float = 0.5
    noise: float = 3.0
    haze: float = 0.0
    motion_blur: float = 0.0


@dataclass(frozen=True)
class PhotoPair:
    frame1: np.ndarray
    frame2: np.ndarray
    flow: np.ndarray
    visible: np.ndarray


def load_photos(folder: str | Path = DEFAULT_PHOTOS, *, min_side: int = 240) -> list[np.ndarray]:
    """Every readable image of ``folder`` (not recursive) as (h, w, 3) uint8 RGB, in name order; tiny or
    flat ones (min side below ``min_side``, or a grey-level spread under 20) are left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SegflowError(f"no photo folder {folder}: give a folder of photos (on Debian: apt-get install opencv-doc)")
    photos = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            img = read_image(p)
        except SegflowError:  # not an image after all: skipped like any unusable file
            continue
        if min(img.shape[:2]) >= min_side and float(img.std()) >= 20.0:
            photos.append(img)
    if len(photos) < 3:
        raise SegflowError(f"{folder} holds {len(photos)} usable photos; the renderer needs at least 3")
    return photos


def _similarity(angle: float, scale: float, centre: tuple[float, float], shift: tuple[float, float]) -> np.ndarray:
    """3x3: rotate by ``angle`` (radians) and scale about ``centre``, then translate by ``shift``."""
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    cx, cy = centre
    return np.array([[c, -s, cx - c * cx + s * cy + shift[0]],
                     [s, c, cy - s * cx - c * cy + shift[1]],
                     [0.0, 0.0, 1.0]])


def _star_mask(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    n = int(rng.integers(5, 13))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = rng.uniform(0.45, 1.0, n)
    pts = np.stack([w / 2 + np.cos(angles) * radii * (w / 2 - 1), h / 2 + np.sin(angles) * radii * (h / 2 - 1)], 1)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 255)
    return mask


def _crop(rng: np.random.Generator, photo: np.ndarray, w: int, h: int) -> np.ndarray:
    """A random (h, w) crop of the photo, scaled up first where it is smaller."""
    ph, pw = photo.shape[:2]
    s = max(w / pw, h / ph, rng.uniform(0.5, 1.0))
    if s != 1.0:
        photo = cv2.resize(photo, (max(w, math.ceil(pw * s)), max(h, math.ceil(ph * s))), interpolation=cv2.INTER_AREA
                           if s < 1 else cv2.INTER_LINEAR)
        ph, pw = photo.shape[:2]
    y, x = int(rng.integers(0, ph - h + 1)), int(rng.integers(0, pw - w + 1))
    return photo[y:y + h, x:x + w]


def render_pair(photos: Sequence[np.ndarray], rng: np.random.Generator, config: PhotoPairConfig = PhotoPairConfig()) -> PhotoPair:
    """One pair (see the module docstring)."""
    W, H = config.size
    frames = [np.zeros((H, W, 3), np.float32) for _ in range(2)]
    top = [np.full((H, W), -1, np.int32) for _ in range(2)]
    flow = np.zeros((H, W, 2), np.float32)
    xs, ys = np.meshgrid(np.arange(W, dtype=np.float64), np.arange(H, dtype=np.float64))
    order = rng.permutation(len(photos))

    layers = []
    # Background: a crop larger than the frame (the camera's motion never shows its border), the camera
    # moving between the frames by a homography near the identity.
    margin = int(config.camera * 2 + 32)
    tex = _crop(rng, photos[order[0]], W + 2 * margin, H + 2 * margin)
    m1 = np.array([[1.0, 0, -margin], [0, 1.0, -margin], [0, 0, 1.0]])
    cam = _similarity(rng.uniform(-0.05, 0.05), rng.uniform(0.95, 1.05), (W / 2, H / 2),
                      tuple(rng.uniform(-config.camera, config.camera, 2)))
    cam[2, :2] = rng.uniform(-2e-5, 2e-5, 2)  # a little perspective
    layers.append((tex, None, m1, cam @ m1))
    for i in range(int(rng.integers(2, 5))):
        tw, th = int(rng.uniform(0.2, 0.5) * W), int(rng.uniform(0.25, 0.6) * H)
        tex = _crop(rng, photos[order[1 + i % (len(photos) - 1)]], tw, th)
        place = _similarity(rng.uniform(-math.pi, math.pi), rng.uniform(0.8, 1.2), (tw / 2, th / 2),
                            (rng.uniform(0, W) - tw / 2, rng.uniform(0, H) - th / 2))
        d = config.max_motion * rng.uniform() ** 2
        a = rng.uniform(0, 2 * math.pi)
        centre = place @ np.array([tw / 2, th / 2, 1.0])
        move = _similarity(rng.uniform(-0.17, 0.17), rng.uniform(0.9, 1.1), (centre[0], centre[1]),
                           (d * math.cos(a), d * math.sin(a)))
        layers.append((tex, _star_mask(rng, tw, th), place, move @ place))

    # Effects drawn after the scene, from the same stream, only where asked for (the default set keeps its draws).
    blur = config.motion_blur > 0 and rng.uniform() < config.motion_blur
    shutter = rng.uniform(0.2, 0.5) if blur else 0.0
    for idx, (tex, mask, m1, m2) in enumerate(layers):
        kernel = None
        if shutter and mask is not None:  # the layer's texture smeared along its displacement, in both frames
            c = m1 @ np.array([tex.shape[1] / 2, tex.shape[0] / 2, 1.0])
            moved = m2 @ np.linalg.inv(m1) @ c
            kernel = _smear_kernel((moved[:2] / moved[2] - c[:2] / c[2]) * shutter)
        for f, m in enumerate((m1, m2)):
            img = cv2.warpPerspective(tex, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            if kernel is not None:
                img = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT)
            if mask is None:
                inside = np.ones((H, W), bool)
            else:
                inside = cv2.warpPerspective(mask, m, (W, H), flags=cv2.INTER_NEAREST, borderValue=0) > 0
            frames[f][inside] = img[inside]
            top[f][inside] = idx
        inside = top[0] == idx
        t = m2 @ np.linalg.inv(m1)  # frame 1 -> frame 2 for this layer
        den = t[2, 0] * xs + t[2, 1] * ys + t[2, 2]
        u = (t[0, 0] * xs + t[0, 1] * ys + t[0, 2]) / den - xs
        v = (t[1, 0] * xs + t[1, 1] * ys + t[1, 2]) / den - ys
        flow[inside] = np.stack([u, v], -1)[inside]

    f1, f2 = frames
    if config.haze > 0 and rng.uniform() < config.haze:  # haze over both frames (the scene's flow is unchanged)
        a = rng.uniform(0, 2 * math.pi)
        ramp = (np.cos(a) * (xs / W - 0.5) + np.sin(a) * (ys / H - 0.5) + 0.75) / 1.5
        density = (rng.uniform(0.2, 0.6) * np.clip(ramp, 0, 1))[..., None].astype(np.float32)
        air = rng.uniform(170, 240)
        f1, f2 = f1 * (1 - density) + air * density, f2 * (1 - density) + air * density
    if rng.uniform() < config.photometric:
        gain, bias, gamma = rng.uniform(0.8, 1.2), rng.uniform(-15, 15), rng.uniform(0.8, 1.25)
        f2 = 255.0 * np.clip((f2 * gain + bias) / 255.0, 0, 1) ** gamma
        if rng.uniform() < 0.5:
            f2 = cv2.GaussianBlur(f2, (0, 0), rng.uniform(0.6, 1.5))
    sigma = rng.uniform(0, config.noise)
    f1 = f1 + rng.normal(0, sigma, f1.shape)
    f2 = f2 + rng.normal(0, sigma, f2.shape)

    dx = np.round(xs + flow[..., 0]).astype(np.int64)
    dy = np.round(ys + flow[..., 1]).astype(np.int64)
    inb = (dx >= 0) & (dx < W) & (dy >= 0) & (dy < H)
    visible = inb & (top[1][dy.clip(0, H - 1), dx.clip(0, W - 1)] == top[0])
    as_u8 = lambda x: np.clip(np.round(x), 0, 255).astype(np.uint8)  # noqa: E731
    return PhotoPair(as_u8(f1), as_u8(f2), flow, visible)


def _smear_kernel(d: np.ndarray) -> np.ndarray | None:
    """The normalised kernel that averages along the segment from -d/2 to d/2 (pixels), a linear motion
    blur; None when the segment is under 2 px. One per layer: both frames are filtered with it."""
    length = float(np.hypot(*d))
    n = int(min(41, max(1, round(length))))
    if n < 2:
        return None
    k = np.zeros((n, n), np.float32)
    for t in np.linspace(-0.5, 0.5, 2 * n):
        k[int(round((n - 1) / 2 + t * d[1] * (n - 1) / max(length, 1e-6))),
          int(round((n - 1) / 2 + t * d[0] * (n - 1) / max(length, 1e-6)))] += 1
    return k / k.sum()


def photo_pairs(n: int, *, folder: str | Path = DEFAULT_PHOTOS, seed: int = VAL_SEED,
                config: PhotoPairConfig = PhotoPairConfig()) -> list[PhotoPair]:
    """``n`` pairs from one seed: the same folder and seed give the same pairs."""
    photos = load_photos(folder)
    rng = np.random.default_rng(seed)
    return [render_pair(photos, rng, config) for _ in range(n)]


__all__ = ["DEFAULT_PHOTOS", "PhotoPair", "PhotoPairConfig", "VAL_SEED", "load_photos", "photo_pairs", "render_pair"]
