"""Exactly invertible layer motion: canvas (texture) coordinates -> frame coordinates at time t.

    F_t(p) = M_t . S2_t(S1_t(p - c))
    S1_t(u, v) = (u + a1_t sin(k1 v + f1_t), v)        S2_t(u, v) = (u, v + a2_t sin(k2 u + f2_t))

M_t is a 3x3 matrix (affine for objects, projective for the camera-moved background) and the two
shears S1, S2 bend the layer smoothly. Each shear is a bijection with a closed-form inverse whatever
its amplitude (like a coupling layer), so the frame -> canvas map G_t = F_t^-1 used to render with
cv2.remap is exact, and a pixel's forward flow is F_{t+1}(G_t(x)) - x with no iterative solve.
All coordinates are float32 arrays of any (matching or broadcastable) shape, in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerMotion:
    mats: np.ndarray  # (T, 3, 3) float64, centred canvas coords -> frame coords
    amp: np.ndarray  # (T, 2) shear amplitudes a1_t, a2_t in pixels
    freq: np.ndarray  # (2,) angular frequencies k1, k2 in radians per pixel
    phase: np.ndarray  # (T, 2) phases f1_t, f2_t
    centre: np.ndarray  # (2,) canvas centre c

    def forward(self, t: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Canvas points -> frame points at time t."""
        (a1, a2), (k1, k2), (f1, f2) = self.amp[t], self.freq, self.phase[t]
        u = u - np.float32(self.centre[0])
        v = v - np.float32(self.centre[1])
        if a1:
            u = u + np.float32(a1) * np.sin(np.float32(k1) * v + np.float32(f1))
        if a2:
            v = v + np.float32(a2) * np.sin(np.float32(k2) * u + np.float32(f2))
        return _apply(self.mats[t], u, v)

    def inverse(self, t: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame points at time t -> canvas points (the exact inverse of :meth:`forward`)."""
        (a1, a2), (k1, k2), (f1, f2) = self.amp[t], self.freq, self.phase[t]
        u, v = _apply(np.linalg.inv(self.mats[t]), x, y)
        if a2:
            v = v - np.float32(a2) * np.sin(np.float32(k2) * u + np.float32(f2))
        if a1:
            u = u - np.float32(a1) * np.sin(np.float32(k1) * v + np.float32(f1))
        return u + np.float32(self.centre[0]), v + np.float32(self.centre[1])

    def bbox(self, t: int, w: int, h: int, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """Frame box (x0, y0, x1, y1), end-exclusive and clipped, holding the (w, h) canvas at time t;
        None when it is entirely outside. A homeomorphism maps the canvas rectangle inside its
        boundary curve, so the boundary's image bounds the whole layer; 2 px pad covers sampling."""
        n = 32
        s = np.linspace(0, 1, n, dtype=np.float32)
        u = np.concatenate([s * w, np.full(n, w, np.float32), s * w, np.zeros(n, np.float32)])
        v = np.concatenate([np.zeros(n, np.float32), s * h, np.full(n, h, np.float32), s * h])
        x, y = self.forward(t, u, v)
        x0, y0 = max(int(np.floor(x.min())) - 2, 0), max(int(np.floor(y.min())) - 2, 0)
        x1, y1 = min(int(np.ceil(x.max())) + 3, size[0]), min(int(np.ceil(y.max())) + 3, size[1])
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _apply(m: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3x3 matrix on points; the projective division only when the last row is not (0, 0, 1)."""
    m = m.astype(np.float32)
    x = m[0, 0] * u + m[0, 1] * v + m[0, 2]
    y = m[1, 0] * u + m[1, 1] * v + m[1, 2]
    if m[2, 0] != 0 or m[2, 1] != 0 or m[2, 2] != 1:
        d = m[2, 0] * u + m[2, 1] * v + m[2, 2]
        x, y = x / d, y / d
    return x, y


def similarity(tx: float, ty: float, angle: float, scale: float, shear: float = 0.0,
               aspect: float = 1.0) -> np.ndarray:
    """3x3: translate . rotate . shear . anisotropic scale (angle in radians)."""
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    sh = np.array([[1, shear, 0], [0, 1, 0], [0, 0, 1]])
    sc = np.diag([scale * aspect, scale / aspect, 1.0])
    out = rot @ sh @ sc
    out[0, 2], out[1, 2] = tx, ty
    return out
