"""Run a video-segmentation method over DAVIS sequences, write its masks in DAVIS results layout
and score them (davis.py). Frames come from the tree's JPEG folder (data/layouts.py); the first
annotation starts it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..data.layouts import davis_frames, davis_objects
from ..errors import SegflowError
from .davis import ObjectScores, annotation_files, score_sequence


def run_sequences(root: Path, sequences: Sequence[str], session, *, year: str, predictions_out: Path | None,
                  with_t: bool = True, on_sequence: Callable[[str, float], None] | None = None
                  ) -> tuple[list[ObjectScores], dict[str, float]]:
    """Propagate each sequence's first annotation with ``session`` (a VideoSession), write the masks to
    ``predictions_out``/<seq>/<frame>.png (if given) and score them. Returns the scores and the
    method's frames/s per sequence (timed over propagation only; decoding and scoring excluded)."""
    from ..io import open_frames, read_mask, write_mask

    objects: list[ObjectScores] = []
    fps: dict[str, float] = {}
    for seq in sequences:
        files = annotation_files(root, seq)
        gt = [read_mask(f) for f in files]
        jpegs = davis_frames(root, seq)
        if not jpegs.is_dir():
            msg = f"no frames for {seq}: {jpegs} is missing"
            raise SegflowError(f"{msg}; give a full DAVIS folder as root",
                               cli=f"{msg}; give --root a full DAVIS folder or score existing masks with --predictions")
        with open_frames(jpegs) as source:
            frames = list(source)
        if len(frames) != len(gt):
            raise SegflowError(f"{seq}: {len(frames)} frames in {jpegs} but {len(gt)} annotations")
        first = davis_objects(gt[0], year)
        t0 = time.perf_counter()
        pred = [np.asarray(r.mask, dtype=np.uint8) for r in session.propagate(frames, first_mask=first)]
        seconds = time.perf_counter() - t0
        fps[seq] = (len(pred) - 1) / seconds if seconds > 0 else float("nan")
        if predictions_out is not None:
            for f, m in zip(files, pred):
                write_mask(predictions_out / seq / f.name, m)
        objects += score_sequence(seq, gt, pred, year=year, with_t=with_t)
        if on_sequence is not None:
            on_sequence(seq, fps[seq])
    return objects, fps
