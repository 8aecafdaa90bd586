"""Training losses: multi-scale endpoint error for flow, cross entropy (+ soft Dice) for segmentation."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def epe_map(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) x2 -> (B, H, W) endpoint error in pixels."""
    return torch.linalg.vector_norm(pred - gt, dim=1)


def multiscale_epe(flow_preds: list[torch.Tensor], gt: torch.Tensor, valid: torch.Tensor,
                   *, aux_weight: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean EPE over valid pixels of every scale (each upsampled to the label grid, as RAFT does).

    flow_preds: coarse -> fine, the last at full resolution; each (B, 2, h, w) in label pixels.
    Training crops are multiples of the network stride, so every level tiles the label exactly.
    gt (B, 2, H, W); valid (B, H, W) bool.
    Returns (weighted loss, final-scale EPE for logging).
    """
    v = valid.float()
    denom = v.sum().clamp_min(1.0)
    total, final = gt.new_zeros(()), gt.new_zeros(())
    for i, pred in enumerate(flow_preds):
        if pred.shape[-2:] != gt.shape[-2:]:
            pred = F.interpolate(pred, size=gt.shape[-2:], mode="bilinear", align_corners=False)
        epe = (epe_map(pred, gt) * v).sum() / denom
        last = i == len(flow_preds) - 1
        total = total + (1.0 if last else aux_weight) * epe
        final = epe if last else final
    return total, final


def seg_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross entropy plus soft Dice; logits and target (B, K, H, W), target in {0, 1}; ``weight``
    (broadcastable to the target) scales each pixel's cross entropy (the Dice term stays unweighted)."""
    bce = F.binary_cross_entropy_with_logits(logits, target, weight=weight)
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(-2, -1))
    dice = 1 - (2 * inter + 1) / (p.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1)) + 1)
    return bce + 0.5 * dice.mean()


def iou(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean IoU of (logits > 0) against a binary target, both (B, K, H, W); empty unions count as 1."""
    p, t = logits > 0, target > 0.5
    inter = (p & t).sum(dim=(-2, -1)).float()
    union = (p | t).sum(dim=(-2, -1)).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union)).mean()
