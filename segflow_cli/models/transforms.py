"""The input transform of a SegFlow network (torchvision's ``weights.transforms()``): frames -> what
``model(image1, image2, flow_init=...)`` takes, including the DIS warm start that ``flow_init="dis"``
weights were trained with. The session, the flow estimator, training and the benchmarks all get it
from here (``transform_for(model)`` or a weights entry's ``transforms()``), so no caller computes the
warm start itself.

    t = get_weights("segflow-lite").transforms()     # or transform_for(model)
    image1, image2, flow_init = t(frame1, frame2)    # (H, W, 3) uint8 each
    out = model(image1[None], image2[None], flow_init=None if flow_init is None else flow_init[None])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..classical import DIS_METHOD_PRESETS as DIS_PRESET_OF  # flow_init -> dis_flow's preset ("none": no warm start)


@dataclass(frozen=True)
class PairTransform:
    """flow_init: "dis" adds OpenCV DIS flow (medium preset) frame1 -> frame2 as the warm start,
    "dis-fine" the same at full resolution with denser patches (classical.dis_flow's "fine" preset),
    "dis-full" at full resolution with sparser patches (its "full" preset), "dis-match" DIS full seeded by
    a global match of the frozen ImageNet Lite0's features (models.match_start: large motion); "none" gives
    None (the network estimates flow from scratch)."""

    flow_init: Literal["none", "dis", "dis-fine", "dis-full", "dis-match"] = "none"

    def __post_init__(self) -> None:
        if self.flow_init not in ("none", "dis-match") and self.flow_init not in DIS_PRESET_OF:
            raise ValueError(f"unknown flow_init {self.flow_init!r}; use one of none, {', '.join(DIS_PRESET_OF)}, dis-match")

    @staticmethod
    def image(frame: np.ndarray, device=None) -> torch.Tensor:
        """(H, W, 3) uint8 RGB -> (3, H, W) float32 in [0, 1] on ``device`` (moved as uint8, then scaled)."""
        # Decoded frames can be read-only buffers, which torch.from_numpy warns about: copy only those.
        t = torch.from_numpy(np.require(frame, requirements=["C", "W"])).permute(2, 0, 1)
        return t.to(device).float().div_(255.0)

    @staticmethod
    def frame(image: torch.Tensor) -> np.ndarray:
        """(3, H, W) float in [0, 1] (CPU) -> (H, W, 3) uint8, rounded: the frame the warm start sees."""
        return (image.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)

    def warm_start(self, frame1: np.ndarray, frame2: np.ndarray) -> torch.Tensor | None:
        """(H, W, 3) uint8 frames -> (2, H, W) float32 flow frame1 -> frame2 in pixels, or None."""
        if self.flow_init == "none":
            return None
        if self.flow_init == "dis-match":
            from .match_start import matched_dis

            return torch.from_numpy(matched_dis(frame1, frame2)).permute(2, 0, 1)
        from ..classical import dis_flow

        return torch.from_numpy(dis_flow(frame1, frame2, preset=DIS_PRESET_OF[self.flow_init])).permute(2, 0, 1)

    def warm_start_of(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor | None:
        """The warm start of two (3, H, W) [0, 1] images (training samples), from their uint8 frames."""
        if self.flow_init == "none":
            return None
        return self.warm_start(self.frame(image1), self.frame(image2))

    def __call__(self, frame1: np.ndarray, frame2: np.ndarray, device=None):
        """(H, W, 3) uint8 frames -> (image1, image2, flow_init): (3, H, W) each and (2, H, W) or None."""
        init = self.warm_start(frame1, frame2)
        return self.image(frame1, device), self.image(frame2, device), None if init is None else init.to(device)


def transform_for(model) -> PairTransform:
    """The input transform a built network needs (its config's flow_init; a DDP wrapper is looked through)."""
    net = getattr(model, "module", model)
    return PairTransform(flow_init=net.config.flow_init)
