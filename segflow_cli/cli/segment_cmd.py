"""`segflow segment VIDEO --mask PNG`: follow the first-frame objects through a video.

`segflow segment A B ... --mask-dir MASKS/ --out OUT/`: a batch, one network, OUT/<stem>/ per video."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..inference.methods import EDGE_EPS, EDGE_RADIUS, MASK_THRESHOLD, MEMORY_EVERY, MEMORY_FRAMES, MEMORY_NEAR, SEGMENT_DEFAULT, SEGMENT_MAX_SIZE
from . import app
from .common import (
    DEFAULT_WEIGHTS, DeviceOpt, EdgeEpsOpt, EdgeRadiusOpt, MemoryEveryOpt, MemoryFramesOpt, MemoryNearOpt, PrecisionOpt,
    SegmentMethodOpt, ThreadsOpt, ThresholdOpt, WeightsOpt, check_max_size, fail, guard, setup_threads,
)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM (what `kill`, systemd and job schedulers send) stops the run like Ctrl-C does, so it
    leaves a marked partial result rather than whatever the process was killed in the middle of."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command("segment")
@guard
def segment_command(
    video: Annotated[list[str], typer.Argument(help="video file, folder of frames, or glob pattern; several (with --mask-dir): a batch, each one video", metavar="VIDEO...", show_default=False)],
    mask: Annotated[Optional[Path], typer.Option("--mask", help="first-frame mask PNG (binary, DAVIS palette ids, or RGB colours), or a folder of masks named by frame number (00000.png, 00010.png, ...: later ones add the objects that enter there)")] = None,
    box: Annotated[Optional[list[str]], typer.Option("--box", help="X0,Y0,X1,Y1 of an object in the first frame (pixels), instead of --mask; repeat for more objects (ids 1, 2, ... in order)")] = None,
    point: Annotated[Optional[list[str]], typer.Option("--point", help="X,Y: a click inside an object in the first frame, instead of --mask; repeat for more objects (ids 1, 2, ... in order; boxes are more reliable)")] = None,
    mask_dir: Annotated[Optional[Path], typer.Option("--mask-dir", help="batch: the folder of masks, MASKS/<video stem>.png or MASKS/<video stem>/ (masks named by frame number); outputs go to OUT/<video stem>/")] = None,
    shard: Annotated[Optional[str], typer.Option("--shard", help="K/N: take every N-th video of the batch from the K-th (K from 0), e.g. $SLURM_ARRAY_TASK_ID/4")] = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out"),
    fmt: Annotated[Optional[list[str]], typer.Option("--format", help="png (masks/, DAVIS palette; the default), rgba (rgba/ cut-outs), alpha-video (alpha.webm with an alpha channel), coco (masks.json), objects (objects/<id>/ binary masks); repeatable", show_default=False)] = None,
    start: Annotated[int, typer.Option("--start", help="first frame to use (the mask belongs to it)")] = 0,
    method: SegmentMethodOpt = SEGMENT_DEFAULT,
    memory_frames: MemoryFramesOpt = MEMORY_FRAMES,
    memory_every: MemoryEveryOpt = MEMORY_EVERY,
    memory_near: MemoryNearOpt = MEMORY_NEAR,
    no_memory: Annotated[bool, typer.Option("--no-memory", help="the network without its space-time memory (flow-warped prior only)")] = False,
    finetune_steps: Annotated[int, typer.Option("--finetune-steps", help="online fine-tuning steps on the first frame (0: off, the default: on generated clips it helps plain objects but hurts objects that change their look or have look-alikes; about 0.6 s a step at 512 px on 2 CPU cores)")] = 0,
    max_size: Annotated[int, typer.Option("--max-size", help="cap on the internal resolution (longer side), at least 32; 640 runs about 1.8x and 512 about 2.5x faster, less accurately (DAVIS J&F 81.1 and 79.1 vs 82.3 at full size, stop 27; the default now scores 82.8)")] = SEGMENT_MAX_SIZE,
    edge_radius: EdgeRadiusOpt = EDGE_RADIUS,
    edge_eps: EdgeEpsOpt = EDGE_EPS,
    threshold: ThresholdOpt = MASK_THRESHOLD,
    save_flow: Annotated[bool, typer.Option("--save-flow", help="also write flow/NNNNN.flo")] = False,
    flow: Annotated[bool, typer.Option("--flow/--no-flow", help="also write flow.mp4, the joint network's flow to the previous frame (off by default: propagate then computes no flow, about 4x faster end to end)")] = False,
    alpha: Annotated[bool, typer.Option("--alpha", help="also write alpha.mp4, a matte of the objects")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace the outputs of a previous run in --out (a folder that holds files is refused otherwise)")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="continue the interrupted run in --out (same command and options): keeps its masks, rebuilds the memory from them, goes on from the first frame it did not write")] = False,
    weights: WeightsOpt = DEFAULT_WEIGHTS,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    threads: ThreadsOpt = None,
) -> None:
    """Segment the object(s) of the first-frame mask through VIDEO; writes masks and overlay.mp4 (--flow: flow.mp4 too).

    Masks are named by input frame number (--start 8: masks/00008.png first). Ctrl-C or SIGTERM
    keeps the masks written so far, marked by OUT/.partial, and exits 130; the same command with
    --resume then continues from there. --format picks what is
    written per frame (png, rgba, alpha-video, coco, objects). Several videos with --mask-dir MASKS/
    run as a batch (one network, OUT/<stem>/ each; exit 1 if any failed); --shard K/N splits it."""
    check_max_size(max_size)
    from ..inference.outputs import check_formats
    from ..inference.segment import parse_shard

    formats = check_formats(fmt)
    batch = mask_dir is not None or len(video) > 1
    if batch and (mask is not None or box or point):
        fail("--mask, --box and --point are for one video; for a batch give --mask-dir MASKS/ (MASKS/<video stem>.png or MASKS/<video stem>/)")
    if len(video) > 1 and mask_dir is None:
        fail(f"{len(video)} videos need --mask-dir MASKS/ (MASKS/<video stem>.png or MASKS/<video stem>/ for each)")
    if shard is not None and not batch:
        fail("--shard splits a batch: give --mask-dir MASKS/ (and the videos)")
    shard_kn = parse_shard(shard) if shard is not None else (0, 1)
    if not batch and sum((mask is not None, bool(box), bool(point))) != 1:
        fail("give the first frame's objects with one of --mask FILE, --box X0,Y0,X1,Y1 or --point X,Y")
    setup_threads(threads)
    options = dict(start=start, method=method, finetune_steps=finetune_steps, max_size=max_size, save_flow=save_flow,
                   alpha=alpha, weights=weights, device=device, precision=precision, progress=True, overwrite=overwrite,
                   memory=not no_memory, memory_frames=memory_frames, memory_every=memory_every, memory_near=memory_near,
                   formats=formats, flow_video=flow,
                   edge_radius=edge_radius, edge_eps=edge_eps, threshold=threshold)
    if batch:
        if resume:
            fail("--resume continues one video's run; for a batch, rerun the unfinished videos one by one with --resume")
        _run_batch(video, mask_dir, out, shard_kn, options)
        return
    from ..inference.prompts import parse_box, parse_point
    from ..inference.segment import segment_video

    with sigterm_as_interrupt():
        summary = segment_video(video[0], mask, out, boxes=[parse_box(b) for b in box] if box else None,
                                points=[parse_point(p) for p in point] if point else None, resume=resume, **options)
    typer.echo(summary)


def _run_batch(videos, mask_dir, out, shard, options) -> None:
    """One summary line per video on stdout, one error line per failed video on stderr, then the
    batch's line; exit 1 if any video failed."""
    from ..inference.segment import plan_batch, segment_batch

    k, n = shard
    jobs = plan_batch(videos, mask_dir, out, shard=shard)  # bad folder / clashing stems: before loading anything
    where = f"shard {k}/{n}: " if n > 1 else ""
    if not jobs:
        typer.echo(f"{where}no videos (the batch has {len(videos)}; this shard's share is empty)")
        return
    failed: list[str] = []
    done = 0
    with sigterm_as_interrupt():
        for res in segment_batch(videos, mask_dir, out, shard=shard, **options):
            if res.ok:
                done += 1
                typer.echo(res.line(cli=True))
            else:
                failed.append(res.stem)
                typer.echo(f"error: {res.line(cli=True)}", err=True)
    tail = f", {len(failed)} failed ({', '.join(failed)})" if failed else ""
    typer.echo(f"{where}{done} of {len(jobs)} videos done{tail} -> {out}{os.sep}")
    if failed:
        raise typer.Exit(1)
