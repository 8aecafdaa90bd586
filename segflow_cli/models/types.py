"""The typed result every SegFlow variant returns, so train, benchmark and inference share one contract."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class SegFlowOutput:
    """Result of ``model(image1, image2, ...)`` for a batch of B frame pairs of size HxW.

    seg_logits: (B, K, H, W) per-object foreground logits for image1. K is the number of prior
        channels given (one per tracked object), or 1 (generic foreground) when no prior is given.
    flow: (B, 2, H, W) optical flow image1 -> image2 in pixels, (dx, dy), at input resolution.
    flow_preds: per-scale flows, coarse to fine, each (B, 2, h_s, w_s) on the padded input grid,
        values in input-resolution pixels; the training loss upsamples them to the label size.
    seg_preds: optional auxiliary segmentation logits (coarse to fine) for deep supervision.
    """

    seg_logits: torch.Tensor
    flow: torch.Tensor
    flow_preds: list[torch.Tensor] = field(default_factory=list)
    seg_preds: list[torch.Tensor] = field(default_factory=list)
