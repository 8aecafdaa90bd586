"""Small helpers shared by the format modules: atomic writes and readable-file checks."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import SegflowError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the target's suffix because cv2/ffmpeg pick the format from it. The
    file sits in the same folder so the final ``os.replace`` is atomic (same filesystem). On any
    exception, Ctrl-C included, the temporary file is removed and the target is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file (never half-written)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def read_existing(path: str | Path, what: str) -> bytes:
    """Return the bytes of ``path``; SegflowError naming the path when it is missing or a folder."""
    path = Path(path)
    if not path.exists():
        raise SegflowError(f"{what} not found: {path}; check the path")
    if path.is_dir():
        raise SegflowError(f"{what} {path} is a folder; give a file")
    return path.read_bytes()
