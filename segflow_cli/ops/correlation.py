"""Local cost volume: correlation of two feature maps over a window of displacements (plain PyTorch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

_TILE = 16  # columns per matrix product (8-32 within 10 % on the CPU; wider wastes products, narrower calls)


def local_cost_volume(f1: torch.Tensor, f2: torch.Tensor, radius: int) -> torch.Tensor:
    """Correlation of f1 with f2 shifted by every displacement in [-r, r]^2.

    f1, f2: (B, C, h, w). Returns (B, (2r+1)^2, h, w), mean over channels (scale-free in C), displacement
    index dy * (2r+1) + dx (both from -r), leaky-ReLU'd.

    Why matrix products: the plain loop of (2r+1)^2 shifted products and channel means makes 49 passes
    over both maps. Here, per row offset dy, each run of _TILE columns of f1 (_TILE x C) is multiplied by
    the _TILE + 2r columns of f2 its windows reach (C x (_TILE + 2r)), and the 2r + 1 diagonals of that
    product are the costs: 3x faster on 2 CPU cores (the flow branch's four levels at 1024x448: 30 -> 10 ms;
    benchmarks/RESULTS.md stop 30), the same values to float rounding (tested against the loop), memory
    O(B C h w) per offset.
    """
    b, c, h, w = f1.shape
    k, t = 2 * radius + 1, _TILE
    nt = -(-w // t)
    wt = nt * t
    rows = F.pad(f1, (0, wt - w)).permute(0, 2, 3, 1).reshape(b * h * nt, t, c)
    f2p = F.pad(f2, (radius, radius + wt - w, radius, radius))  # (B, C, h + 2r, wt + 2r)
    costs = []
    for dy in range(k):
        reach = f2p[:, :, dy:dy + h].unfold(3, t + 2 * radius, t)  # (B, C, h, nt, t + 2r), a view
        reach = reach.permute(0, 2, 3, 1, 4).reshape(b * h * nt, c, t + 2 * radius)
        prod = torch.bmm(rows, reach)  # (B h nt, t, t + 2r): column q against reach columns q .. q + 2r
        costs.append(prod.as_strided((b * h * nt, t, k), (prod.stride(0), prod.stride(1) + 1, prod.stride(2))))
    cost = torch.stack(costs, 2).reshape(b, h, wt, k * k)[:, :, :w] / c
    return F.leaky_relu(cost.permute(0, 3, 1, 2), 0.1)
