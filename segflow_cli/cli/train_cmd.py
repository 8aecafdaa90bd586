"""`segflow train`: a thin wrapper over segflow_cli.train.train (alternating SegFlow training)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import app
from .common import DeviceOpt, PrecisionOpt, ThreadsOpt, guard, parse_size, setup_threads


@app.command("train")
@guard
def train_command(
    out: Annotated[Path, typer.Option("--out", help="run folder: checkpoint.pt, log.jsonl, weights.safetensors")] = Path("runs/lite"),
    config: Annotated[str, typer.Option("--config", help="network: lite|paper")] = "lite",
    data: Annotated[Optional[list[str]], typer.Option("--data", help="synthetic, or KIND=PATH (davis, sintel, chairs, kitti, hd1k, folder); repeatable")] = None,
    steps: Annotated[int, typer.Option("--steps")] = 2000,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 8,
    lr: Annotated[float, typer.Option("--lr")] = 3e-4,
    schedule: Annotated[str, typer.Option("--schedule", help="alternate (paper) or joint")] = "alternate",
    switch_every: Annotated[int, typer.Option("--switch-every", help="steps per phase when alternating")] = 250,
    phases: Annotated[str, typer.Option("--phases", help="phase order when alternating, e.g. seg,flow or flow (one phase only)")] = "seg,flow",
    size: Annotated[str, typer.Option("--size", help="training crop WxH, multiples of 32")] = "384x320",
    workers: Annotated[int, typer.Option("--workers", help="DataLoader worker processes")] = 2,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="continue from OUT/checkpoint.pt")] = False,
    init: Annotated[Optional[str], typer.Option("--init", help="start from these weights (name or path)")] = None,
    val_every: Annotated[int, typer.Option("--val-every")] = 200,
    ckpt_every: Annotated[int, typer.Option("--ckpt-every")] = 50,
    textures: Annotated[Optional[list[str]], typer.Option("--textures", help="folder of your own images for scene textures")] = None,
    stop_at: Annotated[int, typer.Option("--stop-at", help="checkpoint and stop at this step (resume later)")] = 0,
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds: validate, export, checkpoint and stop after this long (a lent machine's end; --resume continues)")] = 0.0,
    keep_snapshots: Annotated[bool, typer.Option("--keep-snapshots", help="every validation also keeps OUT/weights-stepN.safetensors")] = False,
    train_samples: Annotated[int, typer.Option("--train-samples", help="use a fixed set of N scenes (0: endless)")] = 0,
    prior_strength: Annotated[float, typer.Option("--prior-strength", help="how hard training priors are perturbed (1: strong)")] = 1.0,
    trunk_lr_scale: Annotated[float, typer.Option("--trunk-lr-scale", help="the shared trunk's learning rate as a fraction of --lr (0: frozen trunk)")] = 0.3,
    rollout: Annotated[int, typer.Option("--rollout", help="N >= 3: the segmentation phase trains on N-frame rollouts (the network reads its own predictions and memory; with --phases seg)")] = 0,
    new_part_weight: Annotated[float, typer.Option("--new-part-weight", help="rollouts: extra cross-entropy weight on an object's parts no earlier mask came near (0: off)")] = 0.0,
    readout_error_weight: Annotated[float, typer.Option("--readout-error-weight", help="rollouts: extra cross-entropy weight where the memory readout is wrong, times its error (0: off)")] = 0.0,
    hard_prior_rate: Annotated[float, typer.Option("--hard-prior-rate", help="fraction of training priors that are lost (empty, far off, a fragment)")] = 0.0,
    thin_prob: Annotated[float, typer.Option("--thin-prob", help="share of generated foreground layers that are thin structures (poles, wires, 1-4 px)")] = 0.0,
    fog_prob: Annotated[float, typer.Option("--fog-prob", help="share of generated scenes seen through haze")] = 0.0,
    reveal_prob: Annotated[float, typer.Option("--reveal-prob", help="share of generated objects that show new parts during a clip (a car turning its side to the camera)")] = 0.0,
    twin_prob: Annotated[float, typer.Option("--twin-prob", help="share of generated objects with a look-alike twin in the scene (identical cups, letter blocks)")] = 0.0,
    reference_gap: Annotated[int, typer.Option("--reference-gap", help="synthetic clips: frames between the reference and the current frame")] = 3,
    val_data: Annotated[Optional[list[str]], typer.Option("--val-data", help="also validate on KIND=PATH (its val split); repeatable")] = None,
    export: Annotated[Optional[str], typer.Option("--export", help="also write the final weights here, e.g. weights/my.safetensors")] = None,
    device: DeviceOpt = "auto",
    precision: Annotated[str, typer.Option("--precision", help="auto (bf16 on CUDA, fp32 elsewhere)|fp32|fp16|bf16")] = "auto",
    threads: ThreadsOpt = None,
) -> None:
    """Train the joint network on generated scenes (alternating segmentation and flow phases)."""
    from ..errors import SegflowError

    if config not in ("lite", "paper"):
        raise SegflowError(f"--config {config}: unknown network; choose lite or paper")
    if resume and not (out / "checkpoint.pt").is_file():
        where = "is missing" if out.is_dir() else f"is missing: there is no folder {out}"
        raise SegflowError(f"--resume: no checkpoint to continue from ({out / 'checkpoint.pt'} {where}); "
                           "drop --resume to start a new run, or give the --out of the run to continue")
    setup_threads(threads)
    from ..train import TrainConfig, train

    cfg = TrainConfig(
        out=out, model=config, steps=steps, batch_size=batch_size, lr=lr, schedule=schedule, switch_every=switch_every,
        phases=tuple(p.strip() for p in phases.split(",") if p.strip()),
        size=parse_size(size, "--size"), data=tuple(data or ["synthetic"]), workers=workers, seed=seed, resume=resume,
        init=init, val_every=val_every, ckpt_every=ckpt_every, device=device, precision=precision,
        textures=tuple(textures or ()), stop_at=stop_at, time_limit=time_limit, keep_snapshots=keep_snapshots, train_samples=train_samples, export=export,
        val_data=tuple(val_data or ()), prior_strength=prior_strength, trunk_lr_scale=trunk_lr_scale, rollout=rollout, new_part_weight=new_part_weight, readout_error_weight=readout_error_weight,
        hard_prior_rate=hard_prior_rate,
        reference_gap=reference_gap, thin_prob=thin_prob, fog_prob=fog_prob, reveal_prob=reveal_prob, twin_prob=twin_prob,
    )
    result = train(cfg)
    typer.echo(f"done at step {result['step']}; weights: {out / 'weights.safetensors'}; validation: {result['val']}")
