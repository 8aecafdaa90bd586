"""Per-object probabilities -> one id map (soft aggregation, as in STM/Cutie) and back."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def soft_aggregate(probs: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """(K, h, w) independent object probabilities -> (K+1, h, w) normalised [background, objects].

    Background is the probability that no object is present; the odds of all K+1 are renormalised
    with a softmax over their logits so overlapping objects compete instead of both winning.
    """
    probs = probs.clamp(eps, 1 - eps)
    bg = torch.prod(1 - probs, dim=0, keepdim=True).clamp(eps, 1 - eps)
    allp = torch.cat([bg, probs], dim=0)
    return torch.softmax(torch.log(allp / (1 - allp)), dim=0)


def readout_aggregate(logits: torch.Tensor, read: torch.Tensor, eps: float = 0.01) -> torch.Tensor:
    """(K, h, w) gated-correction logits (logit(read[k + 1]) + correction, see SegFlowOutput.readout_full)
    and the (K+1, h, w) readout -> (K+1, h, w) normalised [background, objects]: the readout's own
    joint distribution with each object's odds scaled by its correction, so a closed gate gives back
    the readout exactly (soft_aggregate would re-derive the background from independent objects).
    For K = 1 this is sigmoid(logits), the probability the network is trained on. ``eps`` is the
    model's clamp of the readout."""
    r = read.clamp(eps, 1 - eps)
    scores = torch.cat([torch.log(r[:1]), logits + torch.log1p(-r[1:])], dim=0)
    return torch.softmax(scores, dim=0)


def ids_to_onehot(mask: np.ndarray, object_ids: list[int], size: tuple[int, int] | None = None) -> torch.Tensor:
    """(H, W) uint8 id map -> (K, h, w) float one-hot of ``object_ids``, area-resized to ``size`` (w, h)."""
    onehot = torch.from_numpy(np.stack([(mask == i) for i in object_ids]).astype(np.float32))
    if size is not None and tuple(onehot.shape[:0:-1]) != tuple(size):
        onehot = F.interpolate(onehot[None], size=(size[1], size[0]), mode="area")[0]
    return onehot


def probs_to_ids(allp: torch.Tensor, object_ids: list[int], width: int, height: int, *,
                 threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(K+1, h, w) normalised probabilities -> ((H, W) uint8 ids, (H, W) float32 foreground alpha) at (width, height).

    A pixel shows object k where k is the likeliest object and p_k / (p_k + p_background) > ``threshold``
    (0.5: the plain argmax over all channels; lower shows more of each object). The alpha is 1 - p_background
    whatever the threshold."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    if tuple(allp.shape[-2:]) != (height, width):
        allp = F.interpolate(allp[None], size=(height, width), mode="bilinear", align_corners=False)[0]
    scores = allp.cpu()
    if threshold != 0.5:  # p_k > p_bg t / (1 - t): the background's channel scaled, then the argmax
        scores = torch.cat([scores[:1] * (threshold / (1.0 - threshold)), scores[1:]])
    ids = channel_argmax(scores, [0] + list(object_ids)).numpy()
    alpha = (1.0 - allp[0]).clamp(0, 1).cpu().numpy().astype(np.float32)
    return ids, alpha


def channel_argmax(x: torch.Tensor, labels: list[int]) -> torch.Tensor:
    """(C, H, W) -> (H, W) uint8 label of the largest channel (first wins ties, like argmax).

    A running max over channels: torch's argmax over a leading dim of a large map is an order of
    magnitude slower on the CPU (88 ms vs a few ms at 854x480)."""
    best, out = x[0], torch.full(x.shape[1:], labels[0], dtype=torch.uint8)
    for c in range(1, x.shape[0]):
        better = x[c] > best
        out[better] = labels[c]
        best = torch.maximum(best, x[c])
    return out
