"""Layer shapes: polygons, ellipses, smooth random blobs, silhouettes and cut-outs of photo regions.

Every function returns an (h, w) uint8 alpha in 0..255 (anti-aliased edges) that fills a good part
of its canvas, so a layer's canvas size is roughly its on-screen size.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

KINDS = ("polygon", "ellipse", "blob", "cutout", "silhouette")
_SHIFT = 4  # cv2 drawing with 4 fractional bits gives sub-pixel vertices


def _fixed(points: np.ndarray) -> np.ndarray:
    """Pixel coordinates (..., 2) float -> cv2's fixed-point int32 (``_SHIFT`` fractional bits)."""
    return np.round(points * (1 << _SHIFT)).astype(np.int32)


def _fill(points: np.ndarray, w: int, h: int) -> np.ndarray:
    """Fill a closed polygon given in pixel coordinates (n, 2) float."""
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [_fixed(points)], 255, lineType=cv2.LINE_AA, shift=_SHIFT)
    return m


def polygon(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Random star-shaped polygon with 3-10 vertices."""
    n = int(rng.integers(3, 11))
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    r = rng.uniform(0.55, 1.0, n) if rng.random() < 0.6 else np.ones(n)
    pts = np.stack([(0.5 + 0.48 * r * np.cos(ang)) * w, (0.5 + 0.48 * r * np.sin(ang)) * h], 1)
    return _fill(pts, w, h)


def ellipse(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """An ellipse touching the canvas on at least two sides (aspect comes from the canvas)."""
    ang = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    pts = np.stack([(0.5 + 0.48 * np.cos(ang)) * w, (0.5 + 0.48 * np.sin(ang)) * h], 1)
    return _fill(pts, w, h)


def blob(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random blob: a radius that is a short Fourier series of the angle."""
    ang = np.linspace(0, 2 * math.pi, 96, endpoint=False)
    r = np.ones_like(ang)
    for k in range(2, 6):
        r += rng.uniform(0, 0.25 / (k - 1)) * np.cos(k * ang + rng.uniform(0, 2 * math.pi))
    r = r / r.max()
    pts = np.stack([(0.5 + 0.48 * r * np.cos(ang)) * w, (0.5 + 0.48 * r * np.sin(ang)) * h], 1)
    return _fill(pts, w, h)


@functools.lru_cache(maxsize=1)
def _horse() -> np.ndarray | None:
    try:
        import skimage.data as skd

        m = (~skd.horse()).astype(np.uint8) * 255  # the sample is a black horse on white
        ys, xs = np.nonzero(m)
        return m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    except Exception:  # noqa: BLE001 - optional extra shape
        return None


def silhouette(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A real object outline (scikit-image's horse), flipped at random; a blob when unavailable."""
    m = _horse()
    if m is None:
        return blob(w, h, rng)
    if rng.random() < 0.5:
        m = m[:, ::-1]
    m = cv2.resize(np.ascontiguousarray(m), (max(1, round(w * 0.96)), max(1, round(h * 0.96))),
                   interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w), np.uint8)
    y0, x0 = (h - m.shape[0]) // 2, (w - m.shape[1]) // 2
    out[y0:y0 + m.shape[0], x0:x0 + m.shape[1]] = m
    return out


def cutout(tex: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cut a region out of a photo texture (h, w, 3): the connected region around the centre whose
    colour is close to the centre's, smoothed; a blob when that region is too small or too large."""
    h, w = tex.shape[:2]
    small = cv2.GaussianBlur(tex, (0, 0), max(1.0, min(w, h) / 40)).astype(np.float32)
    centre = small[h // 2 - 2:h // 2 + 3, w // 2 - 2:w // 2 + 3].reshape(-1, 3).mean(0)
    dist = np.linalg.norm(small - centre, axis=2)
    near = (dist < np.quantile(dist, rng.uniform(0.35, 0.65))).astype(np.uint8)
    border = np.zeros_like(near)
    border[2:-2, 2:-2] = 1  # keep the region off the canvas edge so the cut stays closed
    _, labels = cv2.connectedComponents(near * border)
    lab = labels[h // 2, w // 2]
    region = np.zeros((h, w), np.uint8)
    if lab:  # fill the component's holes: objects are solid, speckled cut-outs look like noise
        contours, _ = cv2.findContours((labels == lab).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(region, contours, -1, 1, thickness=cv2.FILLED)
    region = region.astype(np.float32)
    area = region.mean()
    if not 0.15 < area < 0.9:
        return blob(w, h, rng)
    region = cv2.GaussianBlur(region, (0, 0), max(1.0, min(w, h) / 60))
    return np.clip((region - 0.5) * 4 * 255 + 128, 0, 255).astype(np.uint8)  # soft 1-px-ish edge


def thin(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A thin structure across the canvas: a pole, wire or branch, 1-4 px wide, with 0-3 side twigs.
    Flow estimators smooth such structures away (Sintel's bamboo and hair, FlyingThings' sticks)."""
    m = np.zeros((h, w), np.uint8)
    width = int(rng.integers(1, 5))
    a = rng.uniform(0, 1, 2) * (w, h)
    b = rng.uniform(0, 1, 2) * (w, h)
    mid = (a + b) / 2 + rng.normal(0, 0.15, 2) * (w, h)  # a gentle bend
    pts = np.stack([a, mid, b])
    cv2.polylines(m, [_fixed(pts)], False, 255, width, cv2.LINE_AA, _SHIFT)
    for _ in range(int(rng.integers(0, 4))):
        s = pts[int(rng.integers(0, 2))] + rng.uniform(0, 1) * (pts[1] - pts[0])
        e = s + rng.normal(0, 0.25, 2) * (w, h)
        p0, p1 = (tuple(int(v) for v in _fixed(p)) for p in (s, e))
        cv2.line(m, p0, p1, 255, max(1, width - 1), cv2.LINE_AA, _SHIFT)
    if not m.any():  # a segment that missed the canvas: a straight diagonal instead
        cv2.line(m, (0, 0), (w - 1, h - 1), 255, width, cv2.LINE_AA)
    return m


def random_shape(w: int, h: int, rng: np.random.Generator, *, tex: np.ndarray | None = None,
                 thin_prob: float = 0.0) -> np.ndarray:
    """Draw one shape kind at random; ``cutout`` needs the layer's photo texture ``tex``. With
    ``thin_prob`` > 0, that share are thin structures (no extra draw when it is 0)."""
    if thin_prob > 0 and rng.random() < thin_prob:
        return thin(w, h, rng)
    kinds = ["polygon", "ellipse", "blob", "silhouette", "cutout"]
    weights = np.array([0.27, 0.17, 0.28, 0.06, 0.22 if tex is not None else 0.0])
    kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
    if kind == "cutout":
        return cutout(tex, rng)
    return {"polygon": polygon, "ellipse": ellipse, "blob": blob, "silhouette": silhouette}[kind](w, h, rng)
