"""`segflow segment VIDEO --mask PNG`: follow the first-frame objects through a video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app
from .common import DEFAULT_WEIGHTS, DeviceOpt, PrecisionOpt, WeightsOpt, guard


@app.command("segment")
@guard
def segment_command(
    video: Annotated[str, typer.Argument(help="video file, folder of frames, or glob pattern")],
    mask: Annotated[Path, typer.Option("--mask", help="first-frame mask PNG (binary, DAVIS palette ids, or RGB colours)")],
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out"),
    start: Annotated[int, typer.Option("--start", help="first frame to use (the mask belongs to it)")] = 0,
    method: Annotated[str, typer.Option("--method", help="segflow (joint network) or dis-warp (classical baseline)")] = "segflow",
    finetune_steps: Annotated[int, typer.Option("--finetune-steps", help="online fine-tuning steps on the first frame (0: off, the default: with the shipped weights 20 steps score lower on DAVIS; about 0.6 s a step at 512 px on 2 CPU cores)")] = 0,
    max_size: Annotated[int, typer.Option("--max-size", help="cap on the internal resolution (longer side)")] = 512,
    save_flow: Annotated[bool, typer.Option("--save-flow", help="also write flow/NNNNN.flo")] = False,
    alpha: Annotated[bool, typer.Option("--alpha", help="also write alpha.mp4, a matte of the objects")] = False,
    weights: WeightsOpt = DEFAULT_WEIGHTS,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
) -> None:
    """Segment the object(s) of the first-frame mask through VIDEO; writes masks, overlay.mp4 and flow.mp4."""
    from ..inference.segment import segment_video

    summary = segment_video(
        video, mask, out, start=start, method=method, finetune_steps=finetune_steps, max_size=max_size,
        save_flow=save_flow, alpha=alpha, weights=weights, device=device, precision=precision, progress=True,
    )
    typer.echo(summary)
