"""Bring samples of any resolution to one training size, keeping flow, validity and masks consistent."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


def resize_sample(item: dict, scale: float) -> dict:
    """Scale every array of a sample by ``scale`` (same factor on both axes, so flow vectors scale
    by it too). Sparse flow (KITTI) is resized by normalised convolution: bilinear of flow*valid
    over bilinear of valid, valid only where every contributing pixel was valid."""
    f = item["frames"]
    h, w = f.shape[-2:]
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    out = {"frames": F.interpolate(f, size=size, mode="bilinear", align_corners=False, antialias=scale < 1).clamp_(0, 1)}
    if "flows" in item:
        v = item["valid"].float()[:, None]
        num = F.interpolate(item["flows"] * v, size=size, mode="bilinear", align_corners=False)
        den = F.interpolate(v, size=size, mode="bilinear", align_corners=False)
        ok = den > 0.999
        out["flows"] = torch.where(ok, num / den.clamp_min(1e-6), torch.zeros(())) * scale
        out["valid"] = ok[:, 0]
    if "masks" in item:
        out["masks"] = F.interpolate(item["masks"][:, None].float(), size=size, mode="nearest")[:, 0].long()
    return out


def crop_sample(item: dict, x0: int, y0: int, w: int, h: int) -> dict:
    return {k: v[..., y0:y0 + h, x0:x0 + w] for k, v in item.items()}


class FitCrop(Dataset):
    """Item i: the base item scaled to cover (W, H) times a random zoom in [1, max_zoom], then a
    random (W, H) crop; the randomness is seeded by (seed, i) so items are reproducible."""

    def __init__(self, base: Dataset, *, size: tuple[int, int], seed: int = 0, max_zoom: float = 1.3) -> None:
        self.base, self.size, self.seed, self.max_zoom = base, size, seed, max_zoom

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict:
        item = self.base[index]
        W, H = self.size
        h, w = item["frames"].shape[-2:]
        rng = np.random.default_rng([self.seed, index])
        scale = max(W / w, H / h) * rng.uniform(1.0, self.max_zoom)
        item = resize_sample(item, scale)
        h, w = item["frames"].shape[-2:]
        x0, y0 = int(rng.integers(0, max(w - W, 0) + 1)), int(rng.integers(0, max(h - H, 0) + 1))
        return {k: v.contiguous() for k, v in crop_sample(item, x0, y0, W, H).items()}
