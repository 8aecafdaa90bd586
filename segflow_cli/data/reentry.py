"""A clip in which the object is fully hidden for a while and then reappears elsewhere.

Frames 0..``visible``-1: a textured object drifts over a textured background; then an occluder of
another texture covers it completely for ``hidden`` frames; then the object is back, far from where
it was hidden. Flow warping cannot bring it back (its mask was carried onto the occluder and then
lost); a memory that keeps the annotated frame can. Masks are exact.
"""

from __future__ import annotations

import numpy as np

from .textures import builtin_photos, crop_photo, procedural


def reentry_clip(*, size: tuple[int, int] = (192, 128), visible: int = 6, hidden: int = 25, after: int = 10,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """-> frames (T, H, W, 3) uint8 and masks (T, H, W) uint8 (object id 1), T = visible + hidden + after."""
    rng = np.random.default_rng(seed)
    w, h = size
    photos = builtin_photos()
    r = min(w, h) // 6
    bg = procedural(w + 64, h, rng)  # wide enough for a slow camera pan
    obj_tex = crop_photo(photos[0], 2 * r, 2 * r, rng)
    occ_tex = procedural(2 * r + 8, 2 * r + 8, rng)
    yy, xx = np.mgrid[-r:r, -r:r]
    disc = (xx ** 2 + (yy * 1.3) ** 2) < r ** 2
    tex = np.asarray(obj_tex[: 2 * r, : 2 * r])
    frames, masks = [], []
    total = visible + hidden + after
    for t in range(total):
        img = bg[:, t:t + w].copy()  # slow camera pan
        m = np.zeros((h, w), np.uint8)
        if t < visible + hidden:
            cx, cy = w // 4 + 2 * t, h // 2
        else:
            cx, cy = 3 * w // 4 - 2 * (t - visible - hidden), h // 3
        cx, cy = int(np.clip(cx, r, w - r - 1)), int(np.clip(cy, r, h - r - 1))
        win = img[cy - r:cy + r, cx - r:cx + r]
        win[disc] = tex[disc]
        if t < visible or t >= visible + hidden:
            m[cy - r:cy + r, cx - r:cx + r][disc] = 1
        else:  # an occluder sits over the object, covering it completely
            y0, x0 = max(cy - r - 4, 0), max(cx - r - 4, 0)
            box = img[y0:cy + r + 4, x0:cx + r + 4]
            box[:] = occ_tex[: box.shape[0], : box.shape[1]]
        frames.append(img)
        masks.append(m)
    return np.stack(frames), np.stack(masks)


def two_object_clip(*, size: tuple[int, int] = (192, 128), frames: int = 40, enters: int = 8,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct textured discs over a panning background; the second enters the frame at
    ``enters`` (absent before), as new people enter a scene -> frames (T, H, W, 3) uint8 and masks
    (T, H, W) uint8 with ids 1 and 2 (for objects added later)."""
    rng = np.random.default_rng(seed)
    w, h = size
    photos = builtin_photos()
    r = min(w, h) // 6
    bg = procedural(w + frames, h, rng)
    texs = [crop_photo(photos[i % len(photos)], 2 * r, 2 * r, rng) for i in (0, 3)]
    yy, xx = np.mgrid[-r:r, -r:r]
    disc = (xx ** 2 + (yy * 1.3) ** 2) < r ** 2
    out_f, out_m = [], []
    for t in range(frames):
        img, m = bg[:, t:t + w].copy(), np.zeros((h, w), np.uint8)
        for oid, (cx, cy) in enumerate([(w // 4 + t, h // 3), (3 * w // 4 - 2 * (t - enters), 2 * h // 3)], start=1):
            if oid == 2 and t < enters:
                continue
            cx, cy = int(np.clip(cx, r, w - r - 1)), int(np.clip(cy, r, h - r - 1))
            img[cy - r:cy + r, cx - r:cx + r][disc] = texs[oid - 1][disc]
            m[cy - r:cy + r, cx - r:cx + r][disc] = oid
        out_f.append(img)
        out_m.append(m)
    return np.stack(out_f), np.stack(out_m)


def cut_clip(*, size: tuple[int, int] = (192, 128), shot: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Shot A (the object over its background), a hard cut to shot B (another scene, no object) for
    ``shot`` frames, and a cut back to shot A -> frames (3 * shot, H, W, 3), masks (3 * shot, H, W)."""
    fa, ma = reentry_clip(size=size, visible=2 * shot, hidden=0, after=0, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    w, h = size
    other = procedural(w + shot, h, rng)
    fb = np.stack([other[:, t:t + w] for t in range(shot)])
    frames = np.concatenate([fa[:shot], fb, fa[shot:]])
    masks = np.concatenate([ma[:shot], np.zeros((shot, h, w), np.uint8), ma[shot:]])
    return frames, masks
