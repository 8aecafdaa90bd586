"""Pad inputs to the network stride and crop outputs back (854-wide DAVIS frames are not multiples of 8)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class InputPadder:
    """Replicate-pads (B, C, H, W) tensors so H and W are multiples of ``stride``; ``unpad`` undoes it.

    Padding is split evenly between the sides (extra pixel at the bottom/right), like RAFT's padder,
    so features stay centred on the image.
    """

    def __init__(self, shape: torch.Size | tuple[int, ...], *, stride: int) -> None:
        if len(shape) != 4:
            raise ValueError(f"expected a (B, C, H, W) shape, got {tuple(shape)}")
        h, w = int(shape[-2]), int(shape[-1])
        ph, pw = (-h) % stride, (-w) % stride
        self.size = (h, w)
        self.pads = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)  # left, right, top, bottom

    @property
    def padded_size(self) -> tuple[int, int]:
        l, r, t, b = self.pads
        return self.size[0] + t + b, self.size[1] + l + r

    def pad(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for x in tensors:
            if tuple(x.shape[-2:]) != self.size:
                raise ValueError(f"padder built for {self.size}, got a tensor of size {tuple(x.shape[-2:])}")
            out.append(F.pad(x, self.pads, mode="replicate") if any(self.pads) else x)
        return out

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        """Crop a padded-resolution (..., Hp, Wp) tensor back to the original (..., H, W)."""
        l, _, t, _ = self.pads
        h, w = self.size
        if tuple(x.shape[-2:]) != self.padded_size:
            raise ValueError(f"unpad expects size {self.padded_size}, got {tuple(x.shape[-2:])}")
        return x[..., t : t + h, l : l + w]
