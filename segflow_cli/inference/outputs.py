"""Everything `segflow segment` writes for a video, streamed frame by frame.

Per frame (NNNNN is the input frame number), as ``formats`` asks:

* ``png`` (the default): OUT/masks/NNNNN.png, DAVIS palette ids at the input size;
* ``rgba``: OUT/rgba/NNNNN.png, the frame as an RGBA cut-out, alpha = round(255 * soft foreground probability);
* ``alpha-video``: OUT/alpha.webm (VP9, yuva420p) or OUT/alpha.mov (ProRes 4444 where the bundled ffmpeg has
  no libvpx-vp9): the same cut-outs as a video with a real alpha channel;
* ``coco``: OUT/masks.json, COCO-style instances (RLE per object per frame; see ``io.coco``), with the
  frames that follow a hard scene cut in ``info.scene_cuts``;
* ``objects``: OUT/objects/<id>/NNNNN.png, one binary (0/255) mask folder per object id.

Always: OUT/overlay.mp4 (masks over the video); with flow_video OUT/flow.mp4 (colour wheel, one
normalisation for the whole video); optionally OUT/flow/NNNNN.flo and OUT/alpha.mp4 (grey foreground matte). Videos are
written to temporary files and renamed, and masks.json is written, only on a clean close, so an
interrupted run leaves only complete files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ArgumentError
from ..io import DAVIS_PALETTE, VideoWriter, flow_to_color, write_flo, write_image, write_mask

if TYPE_CHECKING:
    from .session import FrameResult

_FLOW_CALIBRATION_FRAMES = 8  # flows buffered to fix the colour scale; memory stays bounded

FORMATS = ("png", "rgba", "alpha-video", "coco", "objects")
DEFAULT_FORMATS = ("png",)
FRAME_FOLDERS = ("masks", "rgba", "flow")  # folders of per-frame files (objects/<id>/ besides)
ALPHA_VIDEOS = ("alpha.webm", "alpha.mov")
COCO_NAME = "masks.json"


def check_formats(formats) -> tuple[str, ...]:
    """The output formats asked for, in order, duplicates dropped (none: ``png``); ArgumentError for an unknown one."""
    if isinstance(formats, str):
        formats = [formats]
    chosen: list[str] = []
    for f in formats or DEFAULT_FORMATS:
        name = str(f).strip().lower()
        if name not in FORMATS:
            raise ArgumentError("formats", str(f), f"unknown output format; use {', '.join(FORMATS)}",
                                flag="--format")
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """(H, W) float probabilities in [0, 1] -> (H, W) uint8 round(255 * alpha)."""
    return np.clip(np.rint(np.asarray(alpha, np.float32) * 255.0), 0, 255).astype(np.uint8)


def cutout(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 RGBA: the frame's colours (straight alpha) with alpha = round(255 * alpha)."""
    return np.concatenate([np.asarray(frame, np.uint8), alpha_to_uint8(alpha)[..., None]], axis=2)


def overlay(frame: np.ndarray, ids: np.ndarray, *, alpha: float = 0.55) -> np.ndarray:
    """(H, W, 3) uint8 frame with each object id painted in its DAVIS palette colour.

    Plain numpy (no torch): it runs in the writer thread beside the network, and torch there would
    start a second team of OpenMP threads."""
    fg = ids != 0
    if not fg.any():
        return frame
    palette = np.asarray(DAVIS_PALETTE, dtype=np.float32).reshape(-1, 3)
    out = np.array(frame, dtype=np.uint8, copy=True)
    blend = frame[fg].astype(np.float32) * (1.0 - alpha) + palette[ids[fg]] * alpha
    out[fg] = blend.astype(np.uint8)  # truncation, as torchvision's draw_segmentation_masks
    return out


class OutputWriter:
    """Writes one video's outputs frame by frame (see the module docstring). ``formats``: see
    :data:`FORMATS`; ``object_ids``: ids known from the start (their ``objects/`` folders hold
    every frame; an id first seen later starts there); ``info``: extra fields for masks.json."""

    def __init__(self, out: Path, *, fps: float, size: tuple[int, int], save_flow: bool = False,
                 alpha: bool = False, videos: bool = True, flow_video: bool = True, first_index: int = 0,
                 formats=DEFAULT_FORMATS, object_ids=(), info: dict | None = None) -> None:
        self.out, self.fps, self.size, self.save_flow = Path(out), fps, size, save_flow
        self.formats = check_formats(formats)
        self.first_index = int(first_index)  # input frame number of the first frame written (--start)
        self.out.mkdir(parents=True, exist_ok=True)
        if "png" in self.formats:
            (self.out / "masks").mkdir(exist_ok=True)
        if "rgba" in self.formats:
            (self.out / "rgba").mkdir(exist_ok=True)
        if "objects" in self.formats:
            (self.out / "objects").mkdir(exist_ok=True)
        if save_flow:
            (self.out / "flow").mkdir(exist_ok=True)
        self.object_ids: list[int] = sorted({int(i) for i in object_ids if int(i) != 0})
        self.coco = None
        if "coco" in self.formats:
            from ..io import CocoWriter

            self.coco = CocoWriter(self.out / COCO_NAME, size=size, info=info)
        self.writers: dict[str, VideoWriter] = {}
        if "alpha-video" in self.formats:
            from ..io import AlphaVideoWriter, alpha_video_suffix

            self.writers["alpha-video"] = AlphaVideoWriter(self.out / f"alpha{alpha_video_suffix()}", fps=fps, size=size)
        names = (["overlay"] + (["flow"] if flow_video else []) if videos else []) + (["alpha"] if alpha else [])
        for name in names:
            self.writers[name] = VideoWriter(self.out / f"{name}.mp4", fps=fps, size=size).__enter__()
        self._pending: list[np.ndarray] = []
        self.max_flow: float | None = None
        self.count = 0
        self.cuts: list[int] = []  # input frame numbers that follow a hard scene cut (masks.json info.scene_cuts)

    def write(self, frame: np.ndarray, res: FrameResult) -> None:
        """One frame's outputs. A ``res.replayed`` frame (a resumed run's earlier frames) already has its
        per-frame files: only the videos and masks.json take it, with the soft alpha read back from
        rgba/ when that was written."""
        number = self.first_index + self.count
        name = f"{number:05d}.png"
        if getattr(res, "cut", False):
            self.cuts.append(number)
        fresh = not getattr(res, "replayed", False)
        if fresh and "png" in self.formats:
            write_mask(self.out / "masks" / name, res.mask)
        flow = res.flow if res.flow is not None else np.zeros((*res.mask.shape, 2), np.float32)
        if fresh and self.save_flow and res.flow is not None:
            write_flo(self.out / "flow" / f"{number:05d}.flo", res.flow)
        alpha = res.alpha
        if not fresh and "rgba" in self.formats:  # the soft alpha the earlier run wrote
            from ..io import read_alpha

            alpha = read_alpha(self.out / "rgba" / name).astype(np.float32) / 255.0
        rgba = cutout(frame, alpha) if ("rgba" in self.formats or "alpha-video" in self.writers) else None
        if fresh and "rgba" in self.formats:
            write_image(self.out / "rgba" / name, rgba)
        if fresh and "objects" in self.formats:
            present = {int(v) for v in np.unique(res.mask) if v != 0}
            self.object_ids = sorted(set(self.object_ids) | present)
            for obj in self.object_ids:
                write_image(self.out / "objects" / str(obj) / name, res.mask == obj)
        if self.coco is not None:
            self.coco.add(number, res.mask, file_name=name)
        if "alpha-video" in self.writers:
            self.writers["alpha-video"].write(rgba)
        if "overlay" in self.writers:
            self.writers["overlay"].write(overlay(frame, res.mask))
        if "alpha" in self.writers:
            self.writers["alpha"].write(np.repeat(alpha_to_uint8(alpha)[..., None], 3, axis=2))
        if "flow" in self.writers:
            self._pending.append(flow)
            if len(self._pending) >= _FLOW_CALIBRATION_FRAMES:
                self._flush_flow()
        self.count += 1

    def _flush_flow(self) -> None:
        if self.max_flow is None:
            mags = np.concatenate([np.linalg.norm(f, axis=-1).ravel() for f in self._pending])
            self.max_flow = max(1.0, 1.1 * float(np.percentile(mags, 99)))
        for f in self._pending:
            self.writers["flow"].write(flow_to_color(f, max_flow=self.max_flow))
        self._pending = []

    def close(self, *, ok: bool = True) -> None:
        """``ok``: finish the videos, then write masks.json; otherwise discard them (nothing half-written)."""
        error: BaseException | None = None
        if ok and "flow" in self.writers:
            try:
                self._flush_flow()
            except BaseException as exc:  # noqa: BLE001 - raised below, after the others are discarded
                error = exc
        writers, self.writers = list(self.writers.values()), {}
        coco, self.coco = self.coco, None
        for w in writers:
            try:
                w.__exit__(None if ok and error is None else RuntimeError, None, None)
            except BaseException as exc:  # noqa: BLE001
                error = error or exc
        if error is not None:
            raise error
        if ok and coco is not None:
            coco.info["scene_cuts"] = list(self.cuts)
            coco.close()
