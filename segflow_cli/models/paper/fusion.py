"""Bidirectional fusion of the published SegFlow (official Caffe deploy.prototxt, "score_*" layers).

flow -> seg: each FlowNetS decoder map (concat4 at stride 16, concat3 at 8, concat2 at 4) is
max-pooled 3x3/2 to the next coarser stride, cropped to the ResNet map of that stride and
concatenated with it: res5 (2048) + concat4 (770) = 2818 channels at stride 32, res4 (1024) +
concat3 (386) = 1410 at 16, res3 (512) + concat2 (194) = 706 at 8. As in the prototxt, res4 and
res3 are first multiplied by fixed scales (0.01, 0.0001: FCN's "at-once" skip scaling).
seg -> flow: the flow head is a second FCN-8s head ("score_flow" in the prototxt) reading the same
fused maps, so segmentation features shape the flow and the flow loss trains the ResNet trunk.
The segmentation head reads them too, so the segmentation loss trains the FlowNetS encoder.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .flownets import DIV_FLOW
from .resnet_fcn import FCN8sHead

#: channels of the fused maps per stride: ResNet + pooled FlowNetS decoder concat
FUSED_CHANNELS = {32: 2048 + 770, 16: 1024 + 386, 8: 512 + 194}


def pool_and_crop(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Max-pool (N, C, h, w) 3x3/2 and centre-crop (or edge-pad) it to like's (h', w').

    Both branches see the same padded input here, so sizes already agree; the crop only guards
    odd sizes (the Caffe model needed Crop layers because FlowNetS ran on a resized 896x512 input).
    """
    x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    th, tw = like.shape[-2:]
    dh, dw = x.shape[-2] - th, x.shape[-1] - tw
    if dh > 0 or dw > 0:
        t, l = max(dh, 0) // 2, max(dw, 0) // 2
        x = x[..., t : t + min(th, x.shape[-2]), l : l + min(tw, x.shape[-1])]
    if dh < 0 or dw < 0:
        x = F.pad(x, (0, max(-dw, 0), 0, max(-dh, 0)), mode="replicate")
    return x


class FlowToSeg(nn.Module):
    """Parameter-free concatenation of FlowNetS decoder maps into the ResNet maps.

    forward(res={8, 16, 32: (B, C, H/s, W/s)}, concats={4, 8, 16: FlowNetS concat maps}) ->
        {s: (B, FUSED_CHANNELS[s], H/s, W/s)} for s in 8, 16, 32.
    """

    def __init__(self, *, res3_scale: float = 1e-4, res4_scale: float = 1e-2) -> None:
        super().__init__()
        self.scales = {8: float(res3_scale), 16: float(res4_scale), 32: 1.0}

    def forward(self, res: dict[int, torch.Tensor], concats: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        out = {}
        for s in (8, 16, 32):
            r = res[s] * self.scales[s] if self.scales[s] != 1.0 else res[s]
            out[s] = torch.cat((r, pool_and_crop(concats[s // 2], r)), dim=1)
        return out


class PriorInjection(nn.Module):
    """Per-object mask prior added to the fused maps through zero-initialised 3x3 convolutions.

    forward(fused {s: (B, C_s, h, w)}, prior (B*K, 1, H, W) in [0, 1], k=K) -> {s: (B*K, C_s, h, w)}:
    each image's maps repeated once per object (objects fold into the batch) plus conv(prior
    area-downsampled to the map). Zero init means an untrained injection changes nothing, so a
    model trained without priors behaves the same with or without one.
    """

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleDict({str(s): nn.Conv2d(1, c, 3, padding=1) for s, c in FUSED_CHANNELS.items()})
        for conv in self.convs.values():
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, fused: dict[int, torch.Tensor], prior: torch.Tensor, *, k: int) -> dict[int, torch.Tensor]:
        out = {}
        for s, x in fused.items():
            p = F.adaptive_avg_pool2d(prior, x.shape[-2:]).to(x.dtype)
            out[s] = x.repeat_interleave(k, dim=0) + self.convs[str(s)](p)
        return out


class FusedFlowHead(nn.Module):
    """The "score_flow" head: FCN-8s over the fused maps, 2 channels, output in input pixels.

    forward(fused, size=(H, W)) -> (B, 2, H, W). The score layers work in FlowNet units (pixels /
    20, the unit of the flow channels inside the fused maps) and the output is scaled to pixels.
    Their small init (std 1e-3) keeps the initial correction well under a pixel.
    """

    def __init__(self, *, init_std: float = 1e-3) -> None:
        super().__init__()
        self.head = FCN8sHead(in_channels=FUSED_CHANNELS, out_channels=2, init_std=init_std)

    def forward(self, fused: dict[int, torch.Tensor], *, size: tuple[int, int]) -> torch.Tensor:
        out, _ = self.head(fused, size=size)
        return out * DIV_FLOW
