"""First-frame matching: a long-term appearance cue beside the flow-warped prior.

Flow carries masks from frame to frame, but once a mask drifts or the object moves faster than the
flow can follow, the prior is wrong and nothing brings the object back. Global matching against the
annotated frame (as FEELVOS and VideoMatch do) does: every pixel of the current frame is compared with
every pixel of the reference frame in the trunk's feature space, and an object scores high where its
nearest reference neighbours belong to that object. The embedding is the trunk's own stride-8 and
stride-16 features, L2-normalised, so matching has no parameters of its own; the segmentation loss
shapes it through the trunk, and the decoder learns how far to trust it against the prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MATCH_CHANNELS = 3  # per object: foreground score, background score, their difference


@dataclass
class ReferenceMemory:
    """What a video session keeps of its annotated frame.

    emb: (B, C, M) unit-norm embeddings of the M = h8 * w8 reference pixels (stride-8 grid), each
        batch item's columns grouped by label: background first, then object 1, 2, ...;
    bounds: (B, K + 2) int64 column offsets of those groups (bounds[b, j]..bounds[b, j + 1]).
    Grouping lets matching take each group's top-k from a slice, without masked copies.
    """

    emb: torch.Tensor
    bounds: torch.Tensor

    @property
    def objects(self) -> int:
        return self.bounds.shape[1] - 2


def embed(f8: torch.Tensor, f16: torch.Tensor) -> torch.Tensor:
    """Trunk features (B, C8, h, w) and (B, C16, h/2, w/2) -> (B, C8 + C16, h, w) unit-norm embedding."""
    up = F.interpolate(f16, size=f8.shape[-2:], mode="bilinear", align_corners=False)
    return F.normalize(torch.cat([F.normalize(f8, dim=1), F.normalize(up, dim=1)], dim=1), dim=1)


def make_memory(emb: torch.Tensor, masks: torch.Tensor) -> ReferenceMemory:
    """emb (B, C, h, w) from ``embed``; masks (B, K, H, W) in [0, 1] at image resolution. A reference
    pixel belongs to object k when more than half of its stride-8 cell is k's."""
    if masks.dim() != 4 or masks.shape[0] != emb.shape[0]:
        raise ValueError(f"reference masks must be (B, K, H, W) with B = {emb.shape[0]}, got {tuple(masks.shape)}")
    b, k = masks.shape[:2]
    small = F.adaptive_avg_pool2d(masks.float(), emb.shape[-2:]).flatten(2)  # (B, K, M)
    score, idx = small.max(dim=1)
    labels = torch.where(score > 0.5, idx + 1, torch.zeros_like(idx))  # (B, M): 0 background, 1..K objects
    order = torch.argsort(labels, dim=1, stable=True)
    flat = emb.flatten(2)
    grouped = torch.gather(flat, 2, order[:, None, :].expand(-1, flat.shape[1], -1))
    counts = torch.stack([torch.bincount(lab, minlength=k + 1) for lab in labels])  # (B, K + 1)
    bounds = torch.cat([counts.new_zeros(b, 1), counts.cumsum(1)], dim=1)
    return ReferenceMemory(emb=grouped, bounds=bounds)


def _group_topk(sim: torch.Tensor, bounds: list[int], k: int) -> torch.Tensor:
    """sim (N, M) -> (G, N, k): each column group's k best similarities, padded with -1 (the least
    cosine) where a group has fewer than k columns."""
    out = sim.new_full((len(bounds) - 1, sim.shape[0], k), -1.0)
    for g, (a, e) in enumerate(zip(bounds[:-1], bounds[1:])):
        if e > a:
            n = min(k, e - a)
            out[g, :, :n] = sim[:, a:e].topk(n, dim=-1).values
    return out


def match(memory: ReferenceMemory, emb: torch.Tensor, *, topk: int = 5) -> torch.Tensor:
    """Score the current frame's embedding (B, C, h, w) against the memory -> (B * K, 3, h, w).

    Per object k: fg = mean of the top-k cosine similarities to reference pixels of k, bg = the same
    over all other reference pixels (background and the other objects); channels are (fg, bg,
    fg - bg). Objects are folded into the batch in the order the decoder uses. Missing neighbours
    count as -1, so an object absent from the reference grid scores fg = -1 everywhere.
    """
    b, c, h, w = emb.shape
    if memory.emb.shape[:2] != (b, c):
        raise ValueError(f"reference memory is {tuple(memory.emb.shape[:2])} (B, C), frame embedding {(b, c)}")
    sim = torch.einsum("bcn,bcm->bnm", emb.flatten(2), memory.emb)  # (B, N, M)
    kobj, out = memory.objects, []
    for i in range(b):
        tops = _group_topk(sim[i], memory.bounds[i].tolist(), topk)  # (K + 1, N, k)
        for o in range(1, kobj + 1):
            others = torch.cat([tops[:o], tops[o + 1:]], dim=0).permute(1, 0, 2).flatten(1)  # (N, K * k)
            fg = tops[o].mean(-1)
            bg = others.topk(topk, dim=-1).values.mean(-1)  # the best k of the other groups' best k
            out.append(torch.stack([fg, bg, fg - bg]))
    return torch.stack(out).reshape(b * kobj, MATCH_CHANNELS, h, w)
