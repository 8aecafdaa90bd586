"""Local cost volume: correlation of two feature maps over a window of displacements (plain PyTorch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def local_cost_volume(f1: torch.Tensor, f2: torch.Tensor, radius: int) -> torch.Tensor:
    """Correlation of f1 with f2 shifted by every displacement in [-r, r]^2.

    f1, f2: (B, C, h, w). Returns (B, (2r+1)^2, h, w), mean over channels (scale-free in C).
    A loop of shifted products keeps memory at O(B*C*h*w), unlike unfold.
    """
    _, _, h, w = f1.shape
    f2p = F.pad(f2, (radius, radius, radius, radius))
    costs = [
        (f1 * f2p[:, :, dy : dy + h, dx : dx + w]).mean(dim=1)
        for dy in range(2 * radius + 1)
        for dx in range(2 * radius + 1)
    ]
    return F.leaky_relu(torch.stack(costs, dim=1), 0.1)
