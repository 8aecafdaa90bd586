"""`segflow train`: alternating (or joint) SegFlow training with resumable checkpoints and DDP.

Phases follow the paper: the segmentation phase trains the segmentation side (cross entropy) with
the flow side frozen, the flow phase trains the flow side (multi-scale EPE) with the segmentation
side frozen; features still cross between the branches in both phases. Under `torchrun` every rank
trains its own slice of the sample stream and rank 0 logs and saves.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from ..errors import ArgumentError
from ..models.transforms import transform_for
from ..policy import autocast, check_precision, resolve_device
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import data_engine_settings, real_val_pairs, train_pairs, val_pairs
from .losses import iou, multiscale_epe, seg_loss
from .progress import TrainProgress
from .sampler import StepBatchSampler
from .validate import forward_batch, validate


def build(cfg: TrainConfig):
    from ..models import segflow_lite, segflow_paper

    model = segflow_lite() if cfg.model == "lite" else segflow_paper()
    if cfg.init:
        from ..weights import load_model

        init, _, _ = load_model(cfg.init)
        if getattr(init, "flow_gate_net", None) is not None and getattr(model, "flow_gate_net", 1) is None:
            from ..models.lite.flow_gate import LearntGate

            model.flow_gate_net = LearntGate()  # the init's learnt gate too (INIT_KEEPS sets its config field)
        # Layers the init weights predate (e.g. the matching encoder; the key encoder, which stays
        # ImageNet's) keep their fresh initialisation;
        # anything else that does not fit is an error.
        from ..errors import WeightsError

        def fail(detail: str = "") -> WeightsError:
            problem = f"does not fit the {cfg.model} network{detail}; use weights of the same variant and sizes"
            return WeightsError(f"init={cfg.init!r} {problem}", cli=f"--init {cfg.init} {problem}")

        try:
            missing, unexpected = model.load_state_dict(init.state_dict(), strict=False)
        except RuntimeError:  # tensor shapes differ
            raise fail() from None
        if unexpected or any(not k.startswith(("seg_decoder.match_", "seg_decoder.warp_", "seg_decoder.gate", "key_encoder.")) for k in missing):
            raise fail(f" ({len(missing)} tensors missing, {len(unexpected)} unexpected)")
        # The network is today's architecture (layers the init predates are added), but it keeps how the
        # init's tensors are read: the warm start its flow branch was trained to refine (training from
        # "dis-fine" weights on DIS-medium inputs would fit the residual to the other warm start) and
        # its gates' and memory readout's settings, so the exported card describes the run's network.
        fields = {f.name for f in dataclasses.fields(model.config)}  # the paper's flow_init is a property
        keep = {k: getattr(init.config, k) for k in INIT_KEEPS if k in fields and hasattr(init.config, k)}
        if keep:
            model.config = dataclasses.replace(model.config, **keep)
    return model


# Config fields a run from --init takes from the init (how its tensors are read), not from today's defaults.
INIT_KEEPS = ("flow_init", "flow_gate", "flow_gate_net", "flow_select_radius", "flow_select_max", "memory_gate_focus",
              "memory_frame_max", "memory_flow_windows", "memory_long_penalty")


def make_optimizer(model, cfg: TrainConfig):
    """AdamW (the ImageNet trunk at ``trunk_lr_scale`` of the rate) with linear warm-up and cosine decay to 10 %."""
    trunk = set(map(id, model.trunk.parameters()))
    key_encoder = getattr(model, "key_encoder", None)  # frozen: never in the optimiser
    frozen = set(map(id, key_encoder.parameters())) if key_encoder is not None else set()
    params = [p for p in model.parameters() if id(p) not in frozen]
    groups = [{"params": [p for p in params if id(p) in trunk], "lr": cfg.lr * cfg.trunk_lr_scale},
              {"params": [p for p in params if id(p) not in trunk], "lr": cfg.lr}]
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(1, cfg.warmup)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * (
        0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, cfg.steps))))))
    return opt, sched


def start_loader(samples, *, workers: int, batch_sampler):
    """The training batches: an iterator over a DataLoader whose ``workers`` processes (0: none) are
    started here, each with one OpenCV thread (torch gives them one thread itself).

    Each worker is one core's worth of data generation; OpenCV (DIS, remaps, blurs) would otherwise run
    a pool as large as the machine in every worker, workers x cores threads (16 x 14 on a 16-core GPU
    machine). The count is set in this process around the fork because calling cv2.setNumThreads in a
    forked worker, after this process used both OpenCV's and torch's thread pools, can deadlock."""
    import cv2

    loader = DataLoader(samples, num_workers=workers, persistent_workers=workers > 0, batch_sampler=batch_sampler)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return iter(loader)  # forks the workers now
    finally:
        cv2.setNumThreads(threads)


def set_phase(model, phase: str, *, train_trunk: bool = True) -> None:
    """Freeze the branch a phase does not train; the frozen trunk's BatchNorm keeps its statistics.
    ``train_trunk=False`` (trunk_lr_scale 0) keeps the shared trunk frozen in every phase: the memory
    keys then stay those the readout was chosen with."""
    train_seg, train_flow = phase in ("seg", "joint"), phase in ("flow", "joint")
    model.train()
    for modules, on in ((model.seg_modules(), train_seg), (model.flow_modules(), train_flow)):
        for m in modules:
            m.requires_grad_(on)
            if not on:
                m.eval()
    if hasattr(model, "trunk"):
        model.trunk.eval()  # batch sizes of a few samples make BN statistics noise; keep ImageNet's
        if not train_trunk:
            model.trunk.requires_grad_(False)


def step_loss(model, batch: dict, phase: str):
    out = forward_batch(model, batch)
    logs, loss = {}, out.flow.new_zeros(())
    if phase in ("flow", "joint"):
        valid = batch["flow_valid"] & batch["has_flow"][:, None, None]
        l_flow, epe = multiscale_epe(out.flow_preds, batch["flow"], valid)
        loss, logs["epe"] = loss + l_flow, float(epe.detach())
    if phase in ("seg", "joint") and batch["has_seg"].any():
        sel = batch["has_seg"]
        loss = loss + seg_loss(out.seg_logits[sel], batch["target"][sel])
        logs["iou"] = float(iou(out.seg_logits[sel], batch["target"][sel]))
    return loss, logs


def train(cfg: TrainConfig) -> dict:
    world, rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
    device = resolve_device(cfg.device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
    precision = "bf16" if cfg.precision == "auto" and device.type == "cuda" else cfg.precision
    precision = check_precision("fp32" if precision == "auto" else precision, device)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")  # fp16 needs loss scaling; bf16 does not
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    model = build(cfg).to(device)
    if cfg.readout_error_weight and not getattr(getattr(model, "config", None), "memory_gate", False):
        # Its weight is the gated readout's own error (readout_full), which only such a network computes:
        # refused here, before the run folder is written, rather than silently training without it.
        raise ArgumentError("readout_error_weight", cfg.readout_error_weight, "needs a network with the gated memory "
                            "readout (LiteConfig.memory_gate)", fix="use the lite network with its memory gate, or give 0")
    transform = transform_for(model)  # the inputs (DIS warm start) the network and its exported weights need
    opt, sched = make_optimizer(model, cfg)
    start, ckpt, extra = 0, out / "checkpoint.pt", {}
    if cfg.resume and ckpt.is_file():
        start, extra = load_checkpoint(ckpt, model=model, optimizer=opt, scheduler=sched)
    t_run, seconds_before = time.perf_counter(), float(extra.get("train_seconds", 0.0))
    wall = lambda: seconds_before + time.perf_counter() - t_run  # noqa: E731 - training time across resumes
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    if cfg.rollout:
        from .data import STREAM_LENGTH, rollout_config
        from .rollout import RolloutClips

        samples = RolloutClips(rollout_config(cfg),
                               length=cfg.train_samples or STREAM_LENGTH, seed=cfg.seed, transform=transform)
    else:
        samples = train_pairs(cfg, transform=transform)
    sampler = StepBatchSampler(start_step=start, steps=min(cfg.steps, cfg.stop_at or cfg.steps), batch_size=cfg.batch_size,
                               rank=rank, world=world)
    batches = start_loader(samples, workers=cfg.workers, batch_sampler=sampler)
    val = {"synthetic": val_pairs(cfg, transform=transform)} if rank == 0 else {}
    if rank == 0:
        val.update({e.partition("=")[0]: real_val_pairs(cfg, e, transform=transform) for e in cfg.val_data})
    log = open(out / "log.jsonl", "a") if rank == 0 else None
    phase, net, metrics = None, model, {}
    progress = TrainProgress(total=cfg.steps, start=start, enabled=rank == 0)
    t_last, step = time.perf_counter(), start
    with progress:
        for step, batch in enumerate(batches, start=start):
            if cfg.phase_at(step) != phase:
                phase = cfg.phase_at(step)
                set_phase(model, phase, train_trunk=cfg.trunk_lr_scale > 0)
                net = DDP(model) if world > 1 else model  # DDP tracks only the params that train now
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with autocast(device, precision):
                if cfg.rollout:
                    from .rollout import rollout_loss

                    loss, logs = rollout_loss(net, batch, memory_frames=cfg.rollout_memory, seed=cfg.seed * 1_000_003 + step,
                                              new_part_weight=cfg.new_part_weight, readout_error_weight=cfg.readout_error_weight)
                else:
                    loss, logs = step_loss(net, batch, phase)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 10.0)
            scaler.step(opt)
            scaler.update()
            sched.step()
            done = step + 1
            if rank == 0:
                now = time.perf_counter()
                rate = cfg.batch_size * world / max(now - t_last, 1e-6)
                t_last = now
                progress.update(done, phase=phase, loss=float(loss.detach()), rate=rate, **logs)
                if done % cfg.log_every == 0 or done == cfg.steps:  # lr: the new layers' rate (the trunk's may be 0)
                    rec = {"step": done, "phase": phase, "loss": float(loss.detach()), "lr": sched.get_last_lr()[-1],
                           "samples_per_s": rate, "time": time.time(), **logs}
                    log.write(json.dumps(rec) + "\n")
                    log.flush()
            timed_out = _out_of_time(cfg, t_run, device, world)
            if rank == 0:
                last = done in (cfg.steps, cfg.stop_at) or timed_out
                if done % cfg.val_every == 0 or last:
                    metrics = {name: validate(model, ds, device=device, precision=precision) for name, ds in val.items()}
                    log.write(json.dumps({"step": done, "val": metrics, "time": time.time()}) + "\n")
                    log.flush()
                    export(model, out / "weights.safetensors", cfg=cfg, step=done, metrics=metrics, seconds=wall(), device=device)
                    if cfg.keep_snapshots:
                        export(model, out / f"weights-step{done}.safetensors", cfg=cfg, step=done, metrics=metrics,
                               seconds=wall(), device=device)
                    set_phase(model, phase, train_trunk=cfg.trunk_lr_scale > 0)
                if done % cfg.ckpt_every == 0 or last:
                    save_checkpoint(ckpt, model=model, optimizer=opt, scheduler=sched, step=done, extra={"train_seconds": wall()})
            if timed_out:
                break
    if log:
        log.close()
    if rank == 0 and cfg.export:
        export(model, Path(cfg.export), cfg=cfg, step=max(step + 1, start), metrics=metrics, seconds=wall(), device=device)
    if world > 1:
        dist.destroy_process_group()
    return {"step": max(step + 1, start), "val": metrics}


def _out_of_time(cfg: TrainConfig, t_run: float, device, world: int) -> bool:
    """Whether ``cfg.time_limit`` has passed; under DDP rank 0's clock decides for every rank, so all
    stop at the same step (a rank that stopped alone would hang the others' next all-reduce)."""
    if not cfg.time_limit:
        return False
    over = time.perf_counter() - t_run >= cfg.time_limit
    if world > 1:
        flag = torch.tensor(float(over), device=device)
        dist.broadcast(flag, src=0)
        over = bool(flag.item())
    return over


def export(model, path: Path, *, cfg: TrainConfig, step: int, metrics: dict, seconds: float, device) -> str:
    """Weights-only fp16 export with a card saying what produced it."""
    import platform

    from ..policy import describe_device
    from ..weights import save_weights

    hardware = f"{describe_device(device)}; {os.cpu_count()} CPU cores ({platform.machine()})"
    card = {"training": {"steps": step, "wall_time_s": round(seconds), "hardware": hardware, "config": cfg.to_dict(),
                         "data_engine": "segflow_cli.data (synthetic layered scenes), seed %d" % cfg.seed},
            "metrics": {"validation": metrics}}
    card["training"]["data_engine_settings"] = data_engine_settings(cfg)
    return save_weights(model, path, card=card)
