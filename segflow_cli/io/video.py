"""Frame sources (video files, image folders, globs) and an atomic mp4 writer.

Frames are always (H, W, 3) uint8 RGB. Videos are decoded as a stream by ffmpeg (imageio-ffmpeg),
one frame at a time, so memory does not grow with the video's length.
"""

from __future__ import annotations

import glob as globlib
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..errors import FormatError, SegflowError
from ..errors import ArgumentError
from .images import IMAGE_SUFFIXES, read_image
from .video_writer import VideoWriter

__all__ = ["FrameSource", "VideoWriter", "natural_key", "open_frames"]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
DEFAULT_FPS = 24.0  # for image folders, which carry no frame rate


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: frame2 < frame10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name.lower()))


class FrameSource:
    """An iterable of (H, W, 3) uint8 RGB frames with ``fps``, ``size`` (width, height),
    ``num_frames`` (exact for images, estimated from metadata for videos, None if unknown) and
    ``name``. Iterating again restarts from ``start``. Use as a context manager or call ``close()``.
    """

    def __init__(self, *, name: str, fps: float, size: tuple[int, int], num_frames: int | None,
                 reopen: Callable[[], Iterator[np.ndarray]], first: np.ndarray, rest: Iterator[np.ndarray]):
        self.name, self.fps, self.size, self.num_frames = name, float(fps), size, num_frames
        self._reopen = reopen
        self._pending: tuple[np.ndarray, Iterator[np.ndarray]] | None = (first, rest)
        self._active: list[Iterator[np.ndarray]] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        it = self._iterate()
        self._active.append(it)
        return it

    def _iterate(self) -> Iterator[np.ndarray]:
        if self._pending is not None:  # the stream open_frames already started (and checked)
            first, gen = self._pending
            self._pending = None
            frames = itertools.chain([first], gen)
        else:
            gen = self._reopen()
            frames = gen
        try:
            yield from frames
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        """Stop any decoder processes; safe to call twice."""
        if self._pending is not None:
            getattr(self._pending[1], "close", lambda: None)()
            self._pending = None
        for it in self._active:
            try:
                it.close()  # type: ignore[attr-defined]
            except ValueError:  # close() called from inside that very loop; it ends when the loop does
                pass
        self._active = []

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        w, h = self.size
        return f"FrameSource({self.name!r}, {w}x{h}, {self.fps:g} fps, {self.num_frames} frames)"


def _video_frames(path: Path, start: int) -> tuple[dict, Iterator[np.ndarray]]:
    """Start ffmpeg on ``path``; returns (metadata, generator of frames from ``start``)."""
    import imageio_ffmpeg

    raw = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(raw)
    except Exception as err:  # ffmpeg found no video stream / could not parse the header
        raw.close()
        detail = str(err).strip().splitlines()
        hint = next((ln.strip() for ln in reversed(detail) if ln.strip() and not ln.startswith("===")), type(err).__name__)
        raise SegflowError(f"{path} is not a video ffmpeg can decode ({hint[:160]}); give an mp4/avi/mov/mkv/webm "
                           "file, a folder of frames or a glob like 'frames/*.png'") from None
    w, h = meta["size"]

    def frames() -> Iterator[np.ndarray]:
        try:
            for i, buf in enumerate(raw):
                if i >= start:
                    yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        except RuntimeError as err:  # truncated / corrupt stream part-way through
            raise SegflowError(f"{path}: decoding failed part-way ({str(err).splitlines()[0]}); "
                               "the file may be truncated — re-encode it") from None
        finally:
            raw.close()

    return meta, frames()


def _open_video(path: Path, start: int, fps: float | None) -> FrameSource:
    meta, gen = _video_frames(path, start)
    first = next(gen, None)
    if first is None:
        gen.close()
        if start:
            raise ArgumentError("start", start, f"past the end: {path} has no video frames after frame {start}",
                                fix="use a smaller start", cli_fix="use a smaller --start")
        raise SegflowError(f"{path} has no video frames; give a non-empty video")
    src_fps = float(meta.get("fps") or 0.0)
    duration = float(meta.get("duration") or 0.0)
    num = max(1, round(duration * src_fps) - start) if duration > 0 and src_fps > 0 else None
    size = (int(meta["size"][0]), int(meta["size"][1]))
    return FrameSource(name=path.name, fps=fps or src_fps or DEFAULT_FPS, size=size, num_frames=num,
                       reopen=lambda: _video_frames(path, start)[1], first=first, rest=gen)


def _oriented_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header alone, after EXIF rotation (as read_image applies it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            rotated = im.format in ("JPEG", "TIFF", "WEBP", "PNG") and im.getexif().get(274, 1) in (5, 6, 7, 8)
    except (UnidentifiedImageError, OSError) as err:
        raise FormatError(f"{path} is not an image ({err}); remove it from the frames") from None
    return (h, w) if rotated else (w, h)


def _open_images(files: list[Path], name: str, start: int, fps: float | None) -> FrameSource:
    if start >= len(files):
        raise ArgumentError("start", start, f"past the end: {name} has {len(files)} frame(s)",
                            fix="use a smaller start", cli_fix="use a smaller --start")
    files = files[start:]
    first = read_image(files[0])
    size = (first.shape[1], first.shape[0])
    for f in files[1:]:  # fail before any work is done, not hundreds of frames in
        if _oriented_size(f) != size:
            w, h = _oriented_size(f)
            raise SegflowError(f"frames differ in size: {files[0].name} is {size[0]}x{size[1]} but {f.name} is {w}x{h}; "
                               "give frames of one video")

    def frames(skip_first: bool) -> Iterator[np.ndarray]:
        for f in files[1:] if skip_first else files:
            img = read_image(f)
            if (img.shape[1], img.shape[0]) != size:
                raise SegflowError(f"{f} is {img.shape[1]}x{img.shape[0]}, the other frames {size[0]}x{size[1]}")
            yield img

    return FrameSource(name=name, fps=fps or DEFAULT_FPS, size=size, num_frames=len(files),
                       reopen=lambda: frames(False), first=first, rest=frames(True))


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()


def open_frames(source: str | Path, *, start: int = 0, fps: float | None = None) -> FrameSource:
    """Open a video file, a folder of images or a glob pattern (e.g. ``'clip/*.jpg'``) as frames.

    Folders and globs are sorted naturally (frame2 before frame10); hidden files are ignored.
    ``start`` skips that many frames. ``fps`` overrides the frame rate (folders default to 24).
    Raises SegflowError for a missing path, a non-video file, no frames, or mixed frame sizes.
    """
    if start < 0:
        raise ArgumentError("start", start, "negative", fix="give the number of the first frame to use, 0 or more")
    path = Path(source)
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if _is_image(p)), key=lambda p: natural_key(p.name))
        if not files:
            videos = sorted(p.name for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
            hint = f"give one of its videos, e.g. {path / videos[0]}" if videos else "give a folder of frames or a video"
            raise SegflowError(f"folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)}); {hint}")
        return _open_images(files, path.name, start, fps)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return _open_images([path], path.name, start, fps)
        return _open_video(path, start, fps)
    if any(c in str(source) for c in "*?["):
        files = sorted((Path(p) for p in globlib.glob(str(source))), key=lambda p: natural_key(str(p)))
        files = [p for p in files if _is_image(p)]
        if not files:
            raise SegflowError(f"no image files match {source!r}; check the pattern (quote it so the shell does not expand it)")
        return _open_images(files, str(source), start, fps)
    raise SegflowError(f"video not found: {path}; give a video file, a folder of frames or a glob pattern")
