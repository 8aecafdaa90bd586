"""Small helpers shared by the format modules: atomic writes and readable-file checks."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from ..errors import SegflowError


def temp_path_beside(path: str | Path) -> Path:
    """Create an empty temporary file next to ``path`` (same folder, so a rename onto ``path`` is
    atomic) and return its name: ``.<stem>.<random>.tmp<suffix>``, keeping the suffix because
    cv2/ffmpeg pick the format from it.

    Unlike ``tempfile.mkstemp`` (always mode 0600), the file gets the permissions any new file
    gets (0666 less the umask, e.g. 0644), and so does the output it is renamed to.
    """
    path = Path(path)
    for _ in range(100):
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {path}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the target's suffix because cv2/ffmpeg pick the format from it. The
    file sits in the same folder so the final ``os.replace`` is atomic (same filesystem). On any
    exception, Ctrl-C included, the temporary file is removed and the target is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_beside(path)
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
