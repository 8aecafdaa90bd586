"""Object-id masks: (H, W) uint8, 0 = background, 1..255 = objects.

Written as palette (P-mode) PNGs with the DAVIS / PASCAL VOC palette, so pixel values are the ids
and viewers show distinct colours. ``read_mask`` accepts the masks people actually have:

* palette PNGs (DAVIS 2017, YouTube-VOS): the palette index is the id;
* 1-bit / grey: two values (0/255, 0/1) -> {0, 1}; several small values (< 128) are kept as ids
  (e.g. ``Image.fromarray(ids)``); otherwise (smooth grey, JPEG) threshold at half the maximum;
* RGB(A): black (or transparent) is background; if every colour is a DAVIS palette colour it maps
  to its index, otherwise colours get ids 1..n in order of first appearance (raster order).

An image with many distinct values and few flat areas is a photo, not a mask (a video frame
given by mistake): FormatError, rather than dozens of invented objects.

Masks whose edges look anti-aliased (many distinct levels/colours) raise a
:class:`AntiAliasedMaskWarning` via ``warnings.warn``; rare in-between colours are then snapped
to the nearest major colour so blended edge pixels do not become spurious objects.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ._files import atomic_path, read_existing


def _voc_palette() -> np.ndarray:
    # Bits of the index are spread over the high bits of R, G, B (the PASCAL VOC construction).
    pal = np.zeros((256, 3), np.uint8)
    for i in range(256):
        c, rgb = i, [0, 0, 0]
        for j in range(8):
            for ch in range(3):
                rgb[ch] |= ((c >> ch) & 1) << (7 - j)
            c >>= 3
        pal[i] = rgb
    pal.setflags(write=False)
    return pal


DAVIS_PALETTE: np.ndarray = _voc_palette()
"""(256, 3) uint8 read-only: id 0 black, 1 (128,0,0), 2 (0,128,0), 3 (128,128,0), ..."""

_PACKED_PALETTE = (DAVIS_PALETTE[:, 0].astype(np.int64) << 16) | (DAVIS_PALETTE[:, 1].astype(np.int64) << 8) | DAVIS_PALETTE[:, 2]
_MAX_LEVELS = 32  # more distinct values than this in one mask means smoothing, not objects
_MINOR = 1e-4  # when anti-aliased, colours with fewer interior pixels than this fraction are edge blends


_MIN_FLAT = 0.5  # masks are flat areas: fewer pixels than this whose 4 neighbours match means a photo


def _flat_fraction(values: np.ndarray) -> float:
    """Fraction of interior pixels whose four neighbours have the same value (masks: most; photos: few)."""
    if values.shape[0] < 3 or values.shape[1] < 3:
        return 1.0
    c = values[1:-1, 1:-1]
    same = (c == values[:-2, 1:-1]) & (c == values[2:, 1:-1]) & (c == values[1:-1, :-2]) & (c == values[1:-1, 2:])
    return float(same.mean())


def _refuse_photo(values: np.ndarray, n: int, path: str) -> None:
    """A mask has a few flat areas; an image with many distinct values and few flat areas is a
    photo (say a video frame passed as the mask), and reading it as ids would invent objects."""
    if n > _MAX_LEVELS and _flat_fraction(values) < _MIN_FLAT:
        raise FormatError(f"{path} looks like a photo, not a mask ({n} distinct values, few flat areas); "
                          "give the first frame's object mask: a PNG whose pixels are object ids or colours")


class AntiAliasedMaskWarning(UserWarning):
    """The mask looks smoothed (anti-aliased / JPEG); ids were recovered by thresholding or snapping."""


def _warn(path: str, n: int) -> None:
    warnings.warn(f"{path} looks anti-aliased ({n} distinct values); recovered ids by thresholding/snapping — "
                  "save masks as palette PNGs with hard edges for exact ids", AntiAliasedMaskWarning, stacklevel=3)


def _grey_to_ids(g: np.ndarray, path: str) -> np.ndarray:
    vals = np.unique(g)
    if len(vals) <= 2:
        return (g > 0).astype(np.uint8)
    if vals[-1] < 128 and len(vals) <= _MAX_LEVELS:
        return g.astype(np.uint8)  # a grey-saved id map such as Image.fromarray(ids)
    _refuse_photo(g, len(vals), path)
    _warn(path, len(vals))
    return (g.astype(np.float64) >= vals[-1] / 2).astype(np.uint8)


def _rgb_to_ids(rgb: np.ndarray, path: str) -> np.ndarray:
    h, w = rgb.shape[:2]
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    cols, first, inverse, counts = np.unique(packed.ravel(), return_index=True, return_inverse=True,
                                             return_counts=True)
    if len(cols) > _MAX_LEVELS:
        _refuse_photo(packed, len(cols), path)
        _warn(path, len(cols))
        # Major colours fill areas; blends sit in thin bands along edges, so count interior pixels
        # (all four neighbours the same colour) rather than raw pixel counts.
        idx = inverse.reshape(h, w)
        core = idx[1:-1, 1:-1]
        inner = ((core == idx[:-2, 1:-1]) & (core == idx[2:, 1:-1]) & (core == idx[1:-1, :-2])
                 & (core == idx[1:-1, 2:]))
        interior = np.bincount(core[inner], minlength=len(cols))
        major = (interior >= max(2, _MINOR * h * w)) | (cols == 0)
        major[np.argmax(counts)] = True
        rgbs = np.stack([(cols >> 16) & 255, (cols >> 8) & 255, cols & 255], 1).astype(np.float64)
        dist = ((rgbs[:, None] - rgbs[None, major]) ** 2).sum(-1)
        snapped = cols[np.flatnonzero(major)[dist.argmin(1)]]  # each colour -> nearest major colour
        cols, first, inverse = np.unique(snapped[inverse.ravel()], return_index=True, return_inverse=True)
    lookup = {int(c): i for i, c in enumerate(_PACKED_PALETTE)}
    if all(int(c) in lookup for c in cols):
        ids = np.array([lookup[int(c)] for c in cols])
    else:
        order = [k for k in np.argsort(first, kind="stable") if cols[k] != 0]
        if len(order) > 255:
            raise FormatError(f"{path} has {len(order)} colours; a mask holds at most 255 objects")
        ids = np.zeros(len(cols), np.int64)
        ids[order] = np.arange(1, len(order) + 1)
    return ids[inverse.ravel()].reshape(h, w).astype(np.uint8)


def decode_mask(data: bytes, name: str = "mask") -> np.ndarray:
    """Decode encoded image bytes into (H, W) uint8 object ids (see the module docstring)."""
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise FormatError(f"{name} is not an image ({err}); give a png mask (palette, grey or colour)") from None
    if im.mode in ("P", "PA"):
        return np.asarray(im.convert("P") if im.mode == "PA" else im).astype(np.uint8)
    if im.mode == "1":
        return np.asarray(im).astype(np.uint8)
    if im.mode in ("L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(im.getchannel(0) if im.mode == "LA" else im)
        if im.mode == "LA":
            arr = np.where(np.asarray(im.getchannel(1)) == 0, 0, arr)
        return _grey_to_ids(np.nan_to_num(arr), name)
    rgba = np.asarray(im.convert("RGBA"))
    rgb = np.where(rgba[..., 3:] == 0, 0, rgba[..., :3])  # transparent pixels are background
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return _grey_to_ids(rgb[..., 0], name)  # a grey mask saved as RGB
    return _rgb_to_ids(rgb, name)


def read_mask(path: str | Path) -> np.ndarray:
    """Read a mask image as (H, W) uint8 object ids, 0 = background.

    Missing file -> SegflowError; not an image or a photo -> FormatError; smoothed edges ->
    AntiAliasedMaskWarning (``warnings.warn``) and a best-effort recovery.
    """
    return decode_mask(read_existing(path, "mask"), str(path))


def write_mask(path: str | Path, ids: np.ndarray) -> None:
    """Write (H, W) integer/bool ids (0..255) as a DAVIS-palette P-mode PNG, atomically."""
    from PIL import Image

    arr = np.asarray(ids)
    if arr.ndim != 2:
        raise FormatError(f"mask must be (H, W) object ids, got shape {arr.shape}")
    if not (arr.dtype == bool or np.issubdtype(arr.dtype, np.integer)):
        raise FormatError(f"mask ids must be integers or bool, got {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise FormatError(f"mask ids must be in 0..255, got {arr.min()}..{arr.max()}")
    h, w = arr.shape
    im = Image.frombytes("P", (w, h), np.ascontiguousarray(arr, dtype=np.uint8).tobytes())
    im.putpalette(DAVIS_PALETTE.ravel().tolist())
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")


def ids_present(ids: np.ndarray) -> list[int]:
    """Sorted non-zero ids present in an (H, W) mask."""
    return [int(i) for i in np.unique(ids) if i != 0]


def mask_to_onehot(ids: np.ndarray, object_ids: list[int] | None = None) -> np.ndarray:
    """(H, W) ids -> (K, H, W) bool, one plane per object id (default: the ids present, sorted)."""
    ids = np.asarray(ids)
    wanted = ids_present(ids) if object_ids is None else [int(i) for i in object_ids]
    return ids[None] == np.asarray(wanted, dtype=np.int64).reshape(-1, 1, 1)


def onehot_to_mask(planes: np.ndarray, object_ids: list[int] | None = None) -> np.ndarray:
    """(K, H, W) bool or probabilities -> (H, W) uint8 ids: the strongest plane where it exceeds 0.5, else 0."""
    planes = np.asarray(planes, dtype=np.float32)
    if len(planes) == 0:
        return np.zeros(planes.shape[1:], np.uint8)
    wanted = np.arange(1, len(planes) + 1) if object_ids is None else np.asarray(object_ids)
    return np.where(planes.max(0) > 0.5, wanted[planes.argmax(0)], 0).astype(np.uint8)
