"""Middlebury ``.flo`` optical flow files.

Layout (all little-endian): the float32 tag 202021.25 (bytes ``PIEH``), int32 width, int32
height, then height*width*2 float32 values, row-major, u and v interleaved per pixel.
Flow is (H, W, 2) float32 in pixels: [..., 0] = u (x, right), [..., 1] = v (y, down).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FormatError, SegflowError
from ._files import write_bytes_atomic

TAG = 202021.25
_HEADER = 12
_MAX_SIDE = 1 << 16  # larger than any real frame; a bigger value means the header is garbage


def read_flo(path: str | Path) -> np.ndarray:
    """Read a ``.flo`` file into an (H, W, 2) float32 array (u, v)."""
    path = Path(path)
    if not path.is_file():
        raise SegflowError(f"flow file not found: {path}; check the path" if not path.exists()
                           else f"{path} is a folder; give a .flo file")
    size = path.stat().st_size
    with path.open("rb") as f:
        header = f.read(_HEADER)
        if len(header) < _HEADER:
            raise FormatError(f"{path} is truncated ({size} bytes, a .flo header needs 12); re-export the flow")
        tag = np.frombuffer(header, "<f4", count=1)[0]
        if tag != np.float32(TAG):
            raise FormatError(f"{path} is not a Middlebury .flo file (tag {header[:4]!r}, expected b'PIEH'); "
                              "give a .flo file (KITTI flow is a 16-bit .png: use read_kitti_flow)")
        w, h = (int(v) for v in np.frombuffer(header, "<i4", count=2, offset=4))
        if not (0 < w <= _MAX_SIDE and 0 < h <= _MAX_SIDE):
            raise FormatError(f"{path} has an impossible size {w}x{h} in its header; the file is corrupt")
        expected = _HEADER + w * h * 8
        if size != expected:
            kind = "truncated" if size < expected else "longer than its header says"
            raise FormatError(f"{path} is {kind} ({size} bytes, {w}x{h} flow needs {expected}); re-export the flow")
        data = np.frombuffer(f.read(w * h * 8), "<f4")
    return data.reshape(h, w, 2).astype(np.float32)  # native byte order, writable copy


def encode_flo(flow: np.ndarray) -> bytes:
    """The bytes of a ``.flo`` file for an (H, W, 2) float flow."""
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2 or flow.shape[0] < 1 or flow.shape[1] < 1:
        raise FormatError(f"flow must have shape (H, W, 2), got {flow.shape}")
    if not np.issubdtype(flow.dtype, np.number):
        raise FormatError(f"flow must be numeric, got dtype {flow.dtype}")
    h, w = flow.shape[:2]
    header = np.array([TAG], "<f4").tobytes() + np.array([w, h], "<i4").tobytes()
    return header + np.ascontiguousarray(flow, dtype="<f4").tobytes()


def write_flo(path: str | Path, flow: np.ndarray) -> None:
    """Write an (H, W, 2) flow (any float dtype; stored as float32) to ``path`` atomically."""
    write_bytes_atomic(path, encode_flo(flow))
