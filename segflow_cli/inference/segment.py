"""segment_video: the whole `segflow segment` job as a library call (the CLI only parses options)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import SegflowError


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".segflow-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SegflowError(f"cannot write to output folder {out} ({exc.strerror}); choose another --out") from None


def segment_video(video, mask_path, out, *, start: int = 0, method: str = "segflow", finetune_steps: int = 0,
                  max_size: int = 512, save_flow: bool = False, alpha: bool = False, weights: str = "segflow-lite",
                  device: str = "auto", precision: str = "fp32", progress: bool = False, model=None) -> str:
    """Segment ``video`` from the first-frame ``mask_path``; writes into ``out``; returns a one-line summary."""
    from ..io import open_frames, read_mask
    from . import create_session
    from .outputs import OutputWriter

    out = Path(out)
    mask_path = Path(mask_path)
    if not mask_path.is_file():
        raise SegflowError(f"mask file not found: {mask_path}")
    source = open_frames(video, start=start)  # fails early: missing, not a video, no frames
    mask = read_mask(mask_path)
    w, h = source.size
    if mask.shape != (h, w):
        raise SegflowError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the video is {w}x{h}; give the mask of frame {start} at the video's size")
    if not mask.any():
        raise SegflowError(f"{mask_path} marks no object (all background); paint the object(s) with non-zero ids")
    session = create_session(method=method, weights=weights, device=device, precision=precision,
                             max_size=max_size, finetune_steps=finetune_steps, model=model)
    _check_writable(out)
    writer = OutputWriter(out, fps=source.fps, size=(w, h), save_flow=save_flow, alpha=alpha)
    last = [None]

    def frames():
        for f in source:
            last[0] = f
            yield f

    t0, ok, n = time.perf_counter(), False, 0
    bar = _progress(progress, source.num_frames)
    try:
        with bar:
            task = bar.add_task("segment", total=source.num_frames, fps=0.0)
            for res in session.propagate(frames(), first_mask=mask):
                writer.write(last[0], res)
                n += 1
                bar.update(task, advance=1, fps=n / max(time.perf_counter() - t0, 1e-6))
        ok = True
    finally:
        writer.close(ok=ok)
        source.close()
    ft = session.finetune_seconds
    dt = time.perf_counter() - t0 - ft  # frames/s is the tracking speed; fine-tuning is reported apart
    tail = f", plus {ft:.1f} s fine-tuning ({finetune_steps} steps)" if finetune_steps else ""
    return f"{n} frames {w}x{h} in {dt:.1f} s ({n / max(dt, 1e-6):.1f} frames/s{tail}) -> {out}{os.sep}"


def _progress(enabled: bool, total):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("segment"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[fps]:.1f} frames/s"),
                    TimeRemainingColumn(), disable=not enabled, transient=False)
