"""KITTI optical flow PNGs (16-bit, 3 channels).

Channel 1 (R) = u, channel 2 (G) = v, each stored as ``value * 64 + 2**15``; channel 3 (B) = 1
where the flow is valid, 0 elsewhere. The representable range is [-512, 511.984] px with a step
of 1/64 px. OpenCV stores channels as BGR, so B (valid) is index 0 and R (u) index 2.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import FormatError
from ._files import read_existing, write_bytes_atomic

_OFFSET = 2.0**15
_SCALE = 64.0
LIMIT_LOW = (0 - _OFFSET) / _SCALE  # -512.0
LIMIT_HIGH = (65535 - _OFFSET) / _SCALE  # 511.984375


def read_kitti_flow(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a KITTI flow PNG: returns (flow (H, W, 2) float32 px, valid (H, W) bool).

    Flow values at invalid pixels are returned as decoded (usually 0); mask them with ``valid``.
    """
    data = read_existing(path, "KITTI flow file")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FormatError(f"{path} is not an image; give a KITTI flow .png (16-bit, 3 channels)")
    if img.dtype != np.uint16 or img.ndim != 3 or img.shape[2] != 3:
        chans = 1 if img.ndim == 2 else img.shape[2]
        raise FormatError(f"{path} is a {img.dtype} image with {chans} channel(s), not a KITTI flow png "
                          "(16-bit, 3 channels); give a KITTI flow file")
    flow = (img[:, :, 2:0:-1].astype(np.float32) - _OFFSET) / _SCALE  # BGR -> (u=R, v=G)
    valid = img[:, :, 0] > 0
    return flow, valid


def write_kitti_flow(path: str | Path, flow: np.ndarray, valid: np.ndarray | None = None) -> None:
    """Write (H, W, 2) flow in px as a KITTI 16-bit PNG, atomically.

    ``valid`` (H, W) bool defaults to "every finite pixel". Values outside [-512, 511.984] px are
    clipped (KITTI cannot store them); non-finite pixels are stored as 0 and marked invalid.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise FormatError(f"flow must have shape (H, W, 2), got {flow.shape}")
    finite = np.isfinite(flow).all(axis=2)
    if valid is None:
        valid = finite
    else:
        valid = np.asarray(valid)
        if valid.shape != flow.shape[:2]:
            raise FormatError(f"valid must have shape {flow.shape[:2]}, got {valid.shape}")
        valid = valid.astype(bool) & finite
    flow = np.where(finite[..., None], flow, 0.0)
    enc = np.clip(np.rint(flow * _SCALE + _OFFSET), 0, 65535).astype(np.uint16)
    bgr = np.dstack([valid.astype(np.uint16), enc[:, :, 1], enc[:, :, 0]])
    ok, buf = cv2.imencode(".png", bgr)
    if not ok:
        raise FormatError(f"could not encode {flow.shape[1]}x{flow.shape[0]} flow as a KITTI png")
    write_bytes_atomic(path, buf.tobytes())
