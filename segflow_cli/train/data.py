"""Training and validation data for `segflow train`: the data engine plus optional real datasets."""

from __future__ import annotations

from dataclasses import replace

from torch.utils.data import Dataset

from ..errors import ArgumentError
from ..models.transforms import PairTransform
from .config import TrainConfig
from .samples import TrainPairs

STREAM_LENGTH = 10**9  # synthetic scenes are an endless, seed-addressed stream
VAL_SEED = 1_000_003  # disjoint from training seeds by construction (different stream)


class Mixed(Dataset):
    """Interleaves several clip datasets: item i comes from dataset i % n (index wrapped into it)."""

    def __init__(self, parts: list[Dataset]) -> None:
        self.parts = parts

    def __len__(self) -> int:
        return len(self.parts) * max(len(p) for p in self.parts)

    def __getitem__(self, i: int):
        part = self.parts[i % len(self.parts)]
        return part[(i // len(self.parts)) % len(part)]


def scene_configs(cfg: TrainConfig) -> list:
    """FlyingChairs-like scenes (large motion, for flow) and, when ``slow_motion`` is set, the same
    scenes moving slower (frame-to-frame motion of real video, what tracking sees)."""
    from ..data import SceneConfig

    # frames 0, 1 are the training pair; the last one, reference_gap frames on, is the reference
    fast = SceneConfig(size=cfg.size, frames=2 + max(0, cfg.reference_gap - 1), photo_dirs=tuple(cfg.textures),
                       thin_prob=cfg.thin_prob, fog_prob=cfg.fog_prob, reveal_prob=cfg.reveal_prob, twin_prob=cfg.twin_prob)
    if not cfg.slow_motion or cfg.slow_motion >= 1:
        return [fast]
    k = cfg.slow_motion
    slow = replace(fast, max_translation=fast.max_translation * k, max_rotation=fast.max_rotation * k,
                   max_scale=fast.max_scale * k, max_shear=fast.max_shear * k, camera_translation=fast.camera_translation * k,
                   camera_rotation=fast.camera_rotation * k, camera_scale=fast.camera_scale * k)
    return [fast, slow]


def rollout_config(cfg: TrainConfig):
    """The scene configuration of a ``--rollout`` run's clips (one place for the loop and the card)."""
    from .rollout import rollout_scene_config

    return rollout_scene_config(cfg.size, cfg.rollout, photo_dirs=cfg.textures, reveal_prob=cfg.reveal_prob,
                                twin_prob=cfg.twin_prob)


def data_engine_settings(cfg: TrainConfig) -> dict:
    """What the data engine drew for this run: generator, stream seed and every scene configuration
    (synthetic data is the stream (config, seed, index), so these reproduce it exactly)."""
    from dataclasses import asdict

    configs = [rollout_config(cfg)] if cfg.rollout else scene_configs(cfg)
    scenes = [{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(sc).items()} for sc in configs]
    return {"generator": "segflow_cli.data.generate_scene", "seed": cfg.seed, "scene_configs": scenes,
            "interleave": "scene i uses scene_configs[i % len(scene_configs)]"}


def _synthetic(cfg: TrainConfig, *, length: int, seed: int) -> Dataset:
    from ..data import SyntheticScenes

    parts = [SyntheticScenes(sc, length=length, seed=seed) for sc in scene_configs(cfg)]
    return Mixed(parts) if len(parts) > 1 else parts[0]


def clip_dataset(cfg: TrainConfig) -> Dataset:
    parts: list[Dataset] = []
    for entry in cfg.data:
        kind, _, path = entry.partition("=")
        if kind == "synthetic":
            parts.append(_synthetic(cfg, length=cfg.train_samples or STREAM_LENGTH, seed=cfg.seed))
        elif path:
            from ..data.datasets import training_clips

            parts.append(training_clips(kind, path, size=cfg.size))
        else:
            raise ArgumentError("data", entry, "use synthetic or KIND=PATH (davis, sintel, chairs, kitti, hd1k, folder)")
    return Mixed(parts) if len(parts) > 1 else parts[0]


def train_pairs(cfg: TrainConfig, *, transform: PairTransform) -> Dataset:
    """Training pairs with the network's input transform (models.transform_for(model))."""
    return TrainPairs(clip_dataset(cfg), transform=transform, seed=cfg.seed, prior_strength=cfg.prior_strength,
                      hard_prior_rate=cfg.hard_prior_rate)


def val_pairs(cfg: TrainConfig, *, transform: PairTransform) -> Dataset:
    return TrainPairs(_Head(_synthetic(cfg, length=cfg.val_samples, seed=VAL_SEED), cfg.val_samples),
                      transform=transform, seed=VAL_SEED)


class _Head(Dataset):
    """The first n items of a dataset."""

    def __init__(self, ds: Dataset, n: int) -> None:
        self.ds, self.n = ds, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return self.ds[i]


def real_val_pairs(cfg: TrainConfig, entry: str, *, transform: PairTransform) -> Dataset:
    """The first ``val_samples`` items of a real set's validation split (DAVIS: val; flow sets:
    their training split, the only one with labels), cropped like training data."""
    from ..data.datasets import FitCrop, load

    kind, _, path = entry.partition("=")
    if not path:
        raise ArgumentError("val_data", entry, "use KIND=PATH (davis, sintel, chairs, kitti, hd1k, folder)")
    ds = FitCrop(load(kind, path, split="val" if kind.startswith("davis") else "train"), size=cfg.size, seed=VAL_SEED)
    return TrainPairs(_Head(ds, min(cfg.val_samples, len(ds))), transform=transform, seed=VAL_SEED)
