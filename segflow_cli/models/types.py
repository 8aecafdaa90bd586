"""The typed result every SegFlow variant returns, so train, benchmark and inference share one contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

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
    embedding: (B, C, H/8, W/8) unit-norm memory key of image1 on the padded stride-8 grid (what a
        video session stores in its memory), when the variant computes one: a variant with its own key
        encoder (segflow-lite key_encoder "imagenet") runs it only when a memory is read.
    readout: (B, V, H/8, W/8) memory readout ([background, objects] probabilities) on that grid when
        a memory was given; positions: (B, T, 2, H/8, W/8) the memory windows' centres for image1.
    readout_full: (B, V, H, W) that readout at input resolution when the logits are a gated correction
        of it (config memory_gate): seg_logits[k] = logit(readout[k + 1]) + gate * correction, which
        aggregate.readout_aggregate turns into one distribution over [background, objects].
    """

    seg_logits: torch.Tensor
    flow: torch.Tensor
    flow_preds: list[torch.Tensor] = field(default_factory=list)
    seg_preds: list[torch.Tensor] = field(default_factory=list)
    embedding: torch.Tensor | None = None
    readout: torch.Tensor | None = None
    positions: torch.Tensor | None = None
    readout_full: torch.Tensor | None = None


def check_inputs(
    image1: torch.Tensor,
    image2: torch.Tensor,
    prior: torch.Tensor | None = None,
    flow_init: torch.Tensor | None = None,
) -> None:
    """Raise a ValueError naming the offending shapes unless the inputs fit the model contract.

    image1, image2: (B, 3, H, W) float RGB in [0, 1]; prior: (B, K, H, W) in [0, 1];
    flow_init: (B, 2, H, W) flow image1 -> image2 in pixels.
    """
    s1, s2 = tuple(image1.shape), tuple(image2.shape)
    if image1.dim() != 4 or image1.shape[1] != 3:
        raise ValueError(f"image1 must be (B, 3, H, W) RGB, got {s1}")
    if s1 != s2:
        raise ValueError(f"image1 and image2 must have the same shape, got {s1} and {s2}")
    b, _, h, w = s1
    if prior is not None and (prior.dim() != 4 or prior.shape[0] != b or tuple(prior.shape[-2:]) != (h, w)):
        raise ValueError(f"prior must be (B, K, H, W) = ({b}, K, {h}, {w}), got {tuple(prior.shape)}")
    if flow_init is not None and tuple(flow_init.shape) != (b, 2, h, w):
        raise ValueError(f"flow_init must be (B, 2, H, W) = ({b}, 2, {h}, {w}), got {tuple(flow_init.shape)}")


class SegFlowNet(Protocol):
    """What every SegFlow network declares as plain class attributes, read directly (never probed):

    supports_prev_probs: ``forward(prev_probs=...)`` warps the previous frame's probabilities with its
        own flow (otherwise the caller estimates flow, warps, and passes ``prior``).
    supports_reference: ``encode_reference`` and ``forward(reference=...)`` (first-frame matching,
        used where the config's ``reference_matching`` is on).
    supports_memory: ``embed``, ``flow_and_embedding`` and ``forward(memory=...)`` (the space-time
        memory's keys and readout, models/memory.py).
    config: the frozen config (``to_dict``/``from_dict``); ``config.flow_init`` says which warm start
        the inputs need (models/transforms.py).
    Every network also has ``flow(image1, image2, *, flow_init=None)``: the (B, 2, H, W) flow alone,
    skipping what the flow does not need (segflow-lite: the segmentation decoder).
    """

    supports_prev_probs: ClassVar[bool]
    supports_reference: ClassVar[bool]
    supports_memory: ClassVar[bool]
    config: object
