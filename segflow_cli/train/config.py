"""Frozen configuration of a training run (the CLI builds one; the loop never sees CLI arguments)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from ..errors import ArgumentError, SegflowError


@dataclass(frozen=True)
class TrainConfig:
    """Alternating SegFlow training.

    schedule "alternate": phases take turns every ``switch_every`` steps (the other branch frozen),
    in the order of ``phases``; "joint": both losses every step (synthetic samples carry both labels).
    data: "synthetic" and/or "KIND=PATH" entries (davis, sintel, chairs, kitti, hd1k, folder).
    size: training crop (W, H), multiples of 32 so every pyramid level tiles the labels.
    The learning-rate schedule spans ``steps``; ``stop_at`` ends a chunk of it early.
    """

    out: Path
    model: Literal["lite", "paper"] = "lite"
    steps: int = 2000
    batch_size: int = 8
    lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup: int = 100
    schedule: Literal["alternate", "joint"] = "alternate"
    phases: tuple[str, ...] = ("seg", "flow")
    switch_every: int = 250
    size: tuple[int, int] = (384, 320)
    data: tuple[str, ...] = ("synthetic",)
    workers: int = 2
    seed: int = 0
    resume: bool = False
    init: str | None = None
    log_every: int = 10
    val_every: int = 200
    val_samples: int = 32
    ckpt_every: int = 50
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 elsewhere
    textures: tuple[str, ...] = ()
    slow_motion: float = 0.25  # half the synthetic scenes move this much slower (video-like, for tracking)
    thin_prob: float = 0.0  # share of foreground layers that are thin structures (data.SceneConfig.thin_prob)
    fog_prob: float = 0.0  # share of scenes seen through haze (data.SceneConfig.fog_prob)
    reveal_prob: float = 0.0  # share of objects that show new parts during a clip (data.SceneConfig.reveal_prob)
    twin_prob: float = 0.0  # share of objects with a look-alike twin in the scene (data.SceneConfig.twin_prob)
    prior_strength: float = 1.0  # how hard the training prior is perturbed (shifts, dilation, holes, blobs)
    hard_prior_rate: float = 0.0  # this fraction of priors is lost (empty, far off, a fragment): matching must recover
    reference_gap: int = 3  # synthetic clips: the reference frame lies this many frames before the current one
    trunk_lr_scale: float = 0.3  # the ImageNet trunk learns slower than the new layers
    rollout: int = 0  # > 0: the seg phase trains on rollouts of clips this many frames long (train/rollout.py)
    rollout_memory: int = 3  # recent predicted frames a rollout's memory keeps
    new_part_weight: float = 0.0  # rollouts: extra cross-entropy weight on an object's new parts (rollout.new_parts)
    readout_error_weight: float = 0.0  # rollouts: extra cross-entropy weight where the memory readout is wrong
    train_samples: int = 0  # > 0: a fixed set of this many synthetic scenes (overfitting checks)
    stop_at: int = 0  # > 0: checkpoint and stop at this step (train in chunks; --resume continues)
    time_limit: float = 0.0  # > 0: validate, export, checkpoint and stop after this many seconds of this process (a lent machine's end); --resume continues
    keep_snapshots: bool = False  # every validation also keeps weights-stepN.safetensors (+ card), to choose a step afterwards
    val_data: tuple[str, ...] = ()  # KIND=PATH real sets validated besides the synthetic one (their val split)
    export: str | None = None  # also write the final weights-only file (+ card) here, e.g. weights/NAME.safetensors

    def __post_init__(self) -> None:
        if self.trunk_lr_scale < 0:
            raise ArgumentError("trunk_lr_scale", self.trunk_lr_scale, "must be >= 0", fix="give 0 to freeze the trunk")
        w, h = self.size
        if w % 32 or h % 32 or w <= 0 or h <= 0:
            raise ArgumentError("size", f"{w}x{h}", "width and height must be positive multiples of 32")
        if self.schedule not in ("alternate", "joint"):
            raise SegflowError(f"unknown schedule {self.schedule!r}; use alternate or joint")
        bad = [p for p in self.phases if p not in ("seg", "flow")]
        if bad or not self.phases:
            raise SegflowError(f"phases must be seg and/or flow, got {self.phases}")
        if self.rollout and (self.rollout < 3 or self.phases != ("seg",) or self.schedule != "alternate"):
            raise ArgumentError("rollout", self.rollout, "rollouts need at least 3 frames and the segmentation phase "
                                "alone", fix="give rollout >= 3 with phases=('seg',)", cli_fix="give --rollout >= 3 with --phases seg")
        for name in ("new_part_weight", "readout_error_weight"):
            value = getattr(self, name)
            if value < 0 or (value and not self.rollout):  # the CLI names the flag itself (ArgumentError.for_cli)
                raise ArgumentError(name, value, "must be >= 0 and needs rollouts",
                                    fix="give a weight >= 0 with rollout >= 3", cli_fix="give a weight >= 0 with --rollout >= 3")
        if self.time_limit < 0:
            raise ArgumentError("time_limit", self.time_limit, "must be >= 0 seconds", fix="give 0 for no limit")
        for name in ("steps", "batch_size", "switch_every"):
            if getattr(self, name) < 1:
                raise ArgumentError(name, getattr(self, name), "must be at least 1")
        for name in ("thin_prob", "fog_prob", "reveal_prob", "twin_prob", "hard_prior_rate"):  # before the run folder is written
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ArgumentError(name, getattr(self, name), "must lie in [0, 1]", fix="give a share between 0 and 1")

    def phase_at(self, step: int) -> str:
        if self.schedule == "joint":
            return "joint"
        return self.phases[(step // self.switch_every) % len(self.phases)]

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
