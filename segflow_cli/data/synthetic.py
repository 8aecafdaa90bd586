"""``SyntheticScenes``: the scene generator as a map-style torch Dataset."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from ..errors import SegflowError
from .config import SceneConfig
from .scene import generate_scene


class SyntheticScenes(Dataset):
    """Item i is scene (seed, i), generated when asked (reproducible in any worker, any order).

    Items are dicts of tensors: 'frames' (T, 3, H, W) float32 in [0, 1], 'flows' (T-1, 2, H, W)
    float32 in pixels, 'valid' (T-1, H, W) bool, 'masks' (T, H, W) int64 object ids (0 = background).
    """

    def __init__(self, cfg: SceneConfig, *, length: int, seed: int = 0) -> None:
        if length < 1 or seed < 0:
            raise SegflowError(f"SyntheticScenes(length={length}, seed={seed}): need length >= 1 and seed >= 0")
        self.cfg, self.length, self.seed = cfg, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -self.length <= index < self.length:
            raise IndexError(f"scene {index} out of range for {self.length} scenes")
        s = generate_scene(self.cfg, self.seed, index=index % self.length)
        return {
            "frames": torch.from_numpy(s.frames).permute(0, 3, 1, 2).float().div_(255),
            "flows": torch.from_numpy(s.flows).permute(0, 3, 1, 2).contiguous(),
            "valid": torch.from_numpy(s.valid),
            "masks": torch.from_numpy(s.masks).long(),
        }
