"""Videos with a real alpha channel: WebM VP9 (yuva420p), or ProRes 4444 (.mov, yuva444p10le) when
the bundled ffmpeg lacks libvpx-vp9. Written atomically like :class:`VideoWriter`.

Decoding the alpha back needs the libvpx decoder for WebM (``ffmpeg -c:v libvpx-vp9 -i x.webm``):
ffmpeg's native VP9 decoder drops the alpha plane, which WebM stores beside the colour planes.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import numpy as np

from ..errors import FormatError, SegflowError
from .video_writer import VideoWriter

# (encoder, suffix, pixel format, extra ffmpeg output options), in order of preference
_CODECS = (
    ("libvpx-vp9", ".webm", "yuva420p", ["-b:v", "0", "-crf", "{crf}", "-auto-alt-ref", "0", "-row-mt", "1"]),
    ("prores_ks", ".mov", "yuva444p10le", ["-profile:v", "4", "-vendor", "apl0"]),
)


@functools.lru_cache(maxsize=None)
def _encoders(ffmpeg: str) -> str:
    try:
        return subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def alpha_codec() -> tuple[str, str, str]:
    """(encoder, suffix, pix_fmt) for alpha videos with the bundled ffmpeg: libvpx-vp9 / .webm /
    yuva420p if it has it, else prores_ks / .mov / yuva444p10le; SegflowError if it has neither."""
    import imageio_ffmpeg

    listing = _encoders(imageio_ffmpeg.get_ffmpeg_exe())
    for name, suffix, pix_fmt, _ in _CODECS:
        if any(line.split()[1:2] == [name] for line in listing.splitlines() if line.strip()):
            return name, suffix, pix_fmt
    raise SegflowError("the bundled ffmpeg (imageio-ffmpeg) encodes neither VP9 (libvpx-vp9) nor ProRes 4444 "
                       "(prores_ks); reinstall imageio-ffmpeg, or use the rgba format (PNG cut-outs) instead")


def alpha_video_suffix() -> str:
    """The suffix alpha videos get with the bundled ffmpeg (``.webm`` or ``.mov``)."""
    return alpha_codec()[1]


class AlphaVideoWriter(VideoWriter):
    """Write (H, W, 4) uint8 RGBA frames (straight, not premultiplied alpha) to a video that keeps
    the alpha channel; ``path``'s suffix must be the one :func:`alpha_video_suffix` gives.
    Atomic (temporary file renamed on a clean close) and a context manager, as VideoWriter."""

    channels, _kind = 4, " RGBA"  # VideoWriter.write checks (H, W, 4)

    def __init__(self, path: str | Path, *, fps: float, size: tuple[int, int], crf: int = 30) -> None:
        self.codec, suffix, self.pix_fmt = alpha_codec()
        path = Path(path)
        if path.suffix.lower() != suffix:
            raise SegflowError(f"cannot write alpha video {path}: the bundled ffmpeg writes alpha as {suffix} "
                               f"({self.codec})")
        super().__init__(path.with_suffix(".mov"), fps=fps, size=size, crf=crf)  # passes VideoWriter's suffix check
        self.path = path

    def _start(self) -> None:
        import imageio_ffmpeg

        from ._files import temp_path_beside

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_path_beside(self.path)
        options = next(opts for name, _, _, opts in _CODECS if name == self.codec)
        self._gen = imageio_ffmpeg.write_frames(
            str(self._tmp), self.size, fps=self.fps, codec=self.codec, pix_fmt_in="rgba", pix_fmt_out=self.pix_fmt,
            quality=None, macro_block_size=1, ffmpeg_log_level="error",
            output_params=[o.format(crf=self.crf) for o in options])
        self._gen.send(None)

def read_alpha_video(path: str | Path) -> np.ndarray:
    """Decode an alpha video back to (N, H, W, 4) uint8 RGBA (the whole video in memory: for checks
    and short clips)."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise SegflowError(f"video not found: {path}")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([ffmpeg, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    size = None
    for line in probe.splitlines():
        if "Video:" in line:
            import re

            m = re.search(r"[ ,](\d{1,5})x(\d{1,5})[ ,\[]", line.split("Video:")[1] + " ")
            if m:
                size = int(m.group(1)), int(m.group(2))
                break
    if size is None:
        raise FormatError(f"{path} holds no video stream ffmpeg can read")
    decoder = ["-c:v", "libvpx-vp9"] if path.suffix.lower() == ".webm" else []
    run = subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", *decoder, "-i", str(path),
                          "-f", "rawvideo", "-pix_fmt", "rgba", "-"], capture_output=True)
    if run.returncode != 0:
        raise FormatError(f"ffmpeg could not decode {path}: {run.stderr.decode(errors='replace').strip()[:200]}")
    w, h = size
    data = np.frombuffer(run.stdout, np.uint8)
    return data.reshape(-1, h, w, 4)
