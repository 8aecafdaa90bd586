"""Everything `segflow segment` writes for a video, streamed frame by frame.

OUT/masks/NNNNN.png (DAVIS palette ids, input size; NNNNN is the input frame number), OUT/overlay.mp4 (masks over the video),
OUT/flow.mp4 (colour wheel, one normalisation for the whole video), optionally OUT/flow/NNNNN.flo
and OUT/alpha.mp4 (foreground matte). Videos are written to temporary files and renamed on a clean
close, so an interrupted run leaves only complete files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..io import DAVIS_PALETTE, VideoWriter, flow_to_color, write_flo, write_mask

if TYPE_CHECKING:
    from .session import FrameResult

_FLOW_CALIBRATION_FRAMES = 8  # flows buffered to fix the colour scale; memory stays bounded


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
    def __init__(self, out: Path, *, fps: float, size: tuple[int, int], save_flow: bool = False,
                 alpha: bool = False, videos: bool = True, first_index: int = 0) -> None:
        self.out, self.fps, self.size, self.save_flow = Path(out), fps, size, save_flow
        self.first_index = int(first_index)  # input frame number of the first frame written (--start)
        (self.out / "masks").mkdir(parents=True, exist_ok=True)
        if save_flow:
            (self.out / "flow").mkdir(exist_ok=True)
        self.writers: dict[str, VideoWriter] = {}
        names = (["overlay", "flow"] if videos else []) + (["alpha"] if alpha else [])
        for name in names:
            self.writers[name] = VideoWriter(self.out / f"{name}.mp4", fps=fps, size=size).__enter__()
        self._pending: list[np.ndarray] = []
        self.max_flow: float | None = None
        self.count = 0

    def write(self, frame: np.ndarray, res: FrameResult) -> None:
        number = self.first_index + self.count
        write_mask(self.out / "masks" / f"{number:05d}.png", res.mask)
        flow = res.flow if res.flow is not None else np.zeros((*res.mask.shape, 2), np.float32)
        if self.save_flow and res.flow is not None:
            write_flo(self.out / "flow" / f"{number:05d}.flo", res.flow)
        if "overlay" in self.writers:
            self.writers["overlay"].write(overlay(frame, res.mask))
        if "alpha" in self.writers:
            self.writers["alpha"].write(np.repeat((res.alpha * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2))
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
        if ok and "flow" in self.writers:
            self._flush_flow()
        for w in self.writers.values():
            w.__exit__(None if ok else RuntimeError, None, None)
        self.writers = {}
