"""Textures for scene layers: offline sample photos, the user's images and procedural patterns.

Every function returns an (h, w, 3) uint8 RGB array. Photos are loaded once per process (each
DataLoader worker pays the cost once) and downscaled so that random crops stay cheap.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import cv2
import numpy as np

from ..errors import SegflowError

MAX_SIDE = 640  # photos are downscaled to this longest side when loaded
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
# scikit-image samples that ship inside the wheel (others download and would fail offline)
_SKIMAGE = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina", "camera", "coins",
            "moon", "text", "page", "brick", "grass", "gravel", "immunohistochemistry", "clock")


def _fit(img: np.ndarray) -> np.ndarray:
    """Any 2-D/3-D image -> (h, w, 3) uint8 with the longest side at most MAX_SIDE."""
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255).astype(np.uint8) if img.dtype.kind == "f" else img.astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3])
    s = MAX_SIDE / max(img.shape[:2])
    if s < 1:
        img = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return img


@functools.lru_cache(maxsize=1)
def builtin_photos() -> tuple[np.ndarray, ...]:
    """Natural photos that installed packages ship offline; ones that fail to load are skipped."""
    out: list[np.ndarray] = []
    try:
        import skimage.data as skd

        for name in _SKIMAGE:
            try:
                out.append(_fit(getattr(skd, name)()))
            except Exception:  # noqa: BLE001 - a missing sample only shrinks the bank
                pass
        try:
            left, right, _ = skd.stereo_motorcycle()
            out += [_fit(left), _fit(right)]
        except Exception:  # noqa: BLE001
            pass
    except ImportError:
        pass
    try:
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            out.append(_fit(cv2.cvtColor(cv2.imdecode(np.frombuffer(f.read(), np.uint8), 1), cv2.COLOR_BGR2RGB)))
    except Exception:  # noqa: BLE001
        pass
    try:  # optional dependency
        from sklearn.datasets import load_sample_image

        out += [_fit(load_sample_image(n)) for n in ("china.jpg", "flower.jpg")]
    except Exception:  # noqa: BLE001
        pass
    return tuple(out)


@functools.lru_cache(maxsize=16)
def user_photo_paths(dirs: tuple[str, ...]) -> tuple[str, ...]:
    """All image files under the given folders (recursive, sorted so seeds stay reproducible)."""
    paths: list[str] = []
    for d in dirs:
        root = Path(d)
        if not root.is_dir():
            raise SegflowError(f"texture folder {d!r} does not exist; pass a folder of images")
        found = sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not found:
            raise SegflowError(f"texture folder {d!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        paths += found
    return tuple(paths)


@functools.lru_cache(maxsize=128)
def _user_photo(path: str) -> np.ndarray:
    from ..io.images import read_image

    return _fit(read_image(path))


def random_photo(rng: np.random.Generator, *, builtin: bool, dirs: tuple[str, ...]) -> np.ndarray | None:
    """One photo drawn uniformly from the built-in bank and the user's folders (None when both are empty)."""
    bank = builtin_photos() if builtin else ()
    paths = user_photo_paths(dirs) if dirs else ()
    n = len(bank) + len(paths)
    if n == 0:
        return None
    i = int(rng.integers(n))
    return bank[i] if i < len(bank) else _user_photo(paths[i - len(bank)])


def crop_photo(photo: np.ndarray, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop at a random zoom, flipped/rotated at random, resized to (h, w, 3)."""
    if rng.random() < 0.5:
        photo = np.rot90(photo, int(rng.integers(1, 4)))
    ph, pw = photo.shape[:2]
    # source pixels per output pixel: near 1 keeps a photo's natural grain (heavy minification
    # turns grass into pixel noise, which no real camera sees); shrink only when the photo is small
    zoom = min(pw / w, ph / h, math.exp(rng.uniform(math.log(0.5), math.log(2.0))))
    cw, ch = max(2, min(pw, round(w * zoom))), max(2, min(ph, round(h * zoom)))
    x0, y0 = int(rng.integers(pw - cw + 1)), int(rng.integers(ph - ch + 1))
    crop = photo[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if cw > w else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=interp)


def _palette(field: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(h, w) float in [0, 1] -> (h, w, 3) uint8 through a random 2- or 3-colour ramp (a LUT)."""
    cols = rng.uniform(0, 255, size=(int(rng.integers(2, 4)), 3))
    ramp = np.linspace(0, len(cols) - 1, 256)
    lut = np.stack([np.interp(ramp, np.arange(len(cols)), cols[:, c]) for c in range(3)], 1)
    q = (np.clip(field, 0, 1) * 255 + 0.5).astype(np.uint8)
    return cv2.LUT(cv2.merge([q, q, q]), lut.astype(np.uint8)[None])


def fractal_noise(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w) float32 in [0, 1]: octaves of upsampled random noise (1/f-like clouds)."""
    out = np.zeros((h, w), np.float32)
    cells, amp, persistence = int(rng.integers(2, 6)), 1.0, rng.uniform(0.4, 0.7)
    while cells <= max(w, h) // 2:
        small = rng.random((cells * h // max(w, h) + 2, cells * w // max(w, h) + 2), dtype=np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        cells, amp = cells * 2, amp * persistence
    out -= out.min()
    return out / max(float(out.max()), 1e-6)


def procedural(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) uint8: fractal noise, a gradient, stripes or checkers in random colours."""
    kind = rng.choice(["noise", "gradient", "stripes", "checkers"], p=[0.4, 0.2, 0.2, 0.2])
    if kind == "noise":
        return _palette(fractal_noise(w, h, rng), rng)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, math.pi)
    u, v = xs * math.cos(a) + ys * math.sin(a), -xs * math.sin(a) + ys * math.cos(a)
    if kind == "gradient":
        field = (u - u.min()) / max(float(np.ptp(u)), 1e-6)
    else:
        period = rng.uniform(6, max(8.0, min(w, h) / 3))
        field = 0.5 + 0.5 * np.sin(2 * math.pi * u / period)
        if kind == "checkers":
            field = (field > 0.5) ^ (np.sin(2 * math.pi * v / period) > 0)
        elif rng.random() < 0.5:  # hard-edged stripes
            field = field > 0.5
    img = _palette(field.astype(np.float32), rng)
    if rng.random() < 0.5:  # cloudy modulation so flat patterns still carry texture
        mod = 0.7 + 0.6 * fractal_noise(w, h, rng)
        img = np.clip(img * mod[..., None], 0, 255).astype(np.uint8)
    return img


def jitter_colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random per-channel gain, contrast, brightness and gamma (one 256-entry LUT per channel);
    sometimes desaturated first, so grey photos get a random tint from the gains."""
    gains = rng.uniform(0.6, 1.4, 3)
    if rng.random() < 0.2:
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    mean = np.array(cv2.mean(img)[:3]) / 255
    contrast, shift, gamma = rng.uniform(0.6, 1.5), rng.uniform(-0.15, 0.15), rng.uniform(0.7, 1.4)
    x = np.linspace(0, 1, 256)[:, None]
    lut = np.clip(((x - mean) * contrast + mean + shift) * gains, 0, 1) ** gamma
    return cv2.LUT(np.ascontiguousarray(img), (lut * 255 + 0.5).astype(np.uint8)[None])


def texture(w: int, h: int, rng: np.random.Generator, *, photo: np.ndarray | None,
            photo_prob: float) -> np.ndarray:
    """A (h, w, 3) uint8 texture: a crop of ``photo`` with chance ``photo_prob``, else procedural."""
    if photo is not None and rng.random() < photo_prob:
        img = crop_photo(photo, w, h, rng)
    else:
        img = procedural(w, h, rng)
    return jitter_colour(img, rng)
