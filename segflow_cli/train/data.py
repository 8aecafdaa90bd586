"""Training and validation data for `segflow train`: the data engine plus optional real datasets."""

from __future__ import annotations

from torch.utils.data import Dataset

from ..errors import SegflowError
from .config import TrainConfig
from .samples import TrainPairs

STREAM_LENGTH = 10**9  # synthetic scenes are an endless, seed-addressed stream
VAL_SEED = 1_000_003  # disjoint from training seeds by construction (different stream)


class Mixed(Dataset):
    """Interleaves several clip datasets: item i comes from dataset i % n (index wrapped into it)."""

    def __init__(self, parts: list[Dataset]) -> None:
        self.parts = parts

    def __len__(self) -> int:
        return STREAM_LENGTH

    def __getitem__(self, i: int):
        part = self.parts[i % len(self.parts)]
        return part[(i // len(self.parts)) % len(part)]


def _scene_config(cfg: TrainConfig):
    from ..data import SceneConfig

    return SceneConfig(size=cfg.size, frames=2, photo_dirs=tuple(cfg.textures))


def clip_dataset(cfg: TrainConfig) -> Dataset:
    from ..data import SyntheticScenes

    parts: list[Dataset] = []
    for entry in cfg.data:
        kind, _, path = entry.partition("=")
        if kind == "synthetic":
            parts.append(SyntheticScenes(_scene_config(cfg), length=cfg.train_samples or STREAM_LENGTH, seed=cfg.seed))
        elif path:
            from ..data.datasets import training_clips

            parts.append(training_clips(kind, path, size=cfg.size))
        else:
            raise SegflowError(f"--data {entry!r}: use synthetic or KIND=PATH (davis, sintel, chairs, kitti, hd1k, folder)")
    return Mixed(parts) if len(parts) > 1 else parts[0]


def train_pairs(cfg: TrainConfig, *, dis_init: bool) -> Dataset:
    return TrainPairs(clip_dataset(cfg), dis_init=dis_init, seed=cfg.seed)


def val_pairs(cfg: TrainConfig, *, dis_init: bool) -> Dataset:
    from ..data import SyntheticScenes

    clips = SyntheticScenes(_scene_config(cfg), length=cfg.val_samples, seed=VAL_SEED)
    return TrainPairs(clips, dis_init=dis_init, seed=VAL_SEED)
