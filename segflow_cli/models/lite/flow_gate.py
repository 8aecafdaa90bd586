"""A learnt confidence on the flow branch's correction of its warm start (issue 14, item 2).

The network refines a DIS warm start with a correction learnt at stride 4 and upsampled: on pairs it was
never trained near (eval.photo_pairs) that correction lowers the mean EPE but blurs what DIS had to the
pixel (1px 67 -> 56 %, benchmarks/RESULTS.md stop 28). The parameter-free residual_gate only sees the
warm start's colour error; this small network also sees the corrected flow's error, both with the local
mean removed (brightness changes), the image's texture and the correction's size, and says per pixel how
much of the correction to keep. It multiplies residual_gate (config.flow_gate), so where the warm start
already explains the frames exactly the correction still cannot pass.

Trained alone, the rest of the network frozen (scripts/train_flow_gate.py): generated pairs plus photo
pairs, chosen on photo pairs of other photos.

Shapes: images (B, 3, H, W) in [0, 1], flows (B, 2, H, W) in pixels image1 -> image2; gate (B, 1, H, W).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...ops import backward_warp, box_mean_nchw

FEATURES = 6
_SCALE = 16.0  # colour errors and gradients in [0, 1] -> about unit range for the convolutions


def gate_features(image1: torch.Tensor, image2: torch.Tensor, flow_init: torch.Tensor, correction: torch.Tensor) -> torch.Tensor:
    """-> (B, 6, ceil(H / 2), ceil(W / 2)), at half resolution (the gate is smooth; full resolution cost a
    third of the flow's time, RESULTS.md stop 28): the colour error of image2 warped by the warm start and
    by the corrected flow, the same two with each image's 5x5 local mean removed, image1's gradient
    magnitude (each box-averaged over 3x3), and log(1 + |correction|). The mean-removed errors are of the
    grey images."""
    image1, image2 = F.avg_pool2d(image1, 2, ceil_mode=True), F.avg_pool2d(image2, 2, ceil_mode=True)
    flow_init, correction = F.avg_pool2d(flow_init, 2, ceil_mode=True) / 2, F.avg_pool2d(correction, 2, ceil_mode=True) / 2
    warped_init = backward_warp(image2, flow_init)
    warped_net = backward_warp(image2, flow_init + correction)
    grey = torch.cat([image1.mean(1, keepdim=True), warped_init.mean(1, keepdim=True), warped_net.mean(1, keepdim=True)], 1)
    high = grey - box_mean_nchw(grey, 2)  # brightness offsets removed (one pass for the three)
    gx = F.pad(grey[:, :1, :, 1:] - grey[:, :1, :, :-1], (0, 1))
    gy = F.pad(grey[:, :1, 1:, :] - grey[:, :1, :-1, :], (0, 0, 0, 1))
    errors = torch.cat([
        (image1 - warped_init).abs().mean(1, keepdim=True),
        (image1 - warped_net).abs().mean(1, keepdim=True),
        (high[:, :1] - high[:, 1:2]).abs(),
        (high[:, :1] - high[:, 2:]).abs(),
        gx.abs() + gy.abs(),
    ], 1) * _SCALE
    size = torch.hypot(correction[:, :1], correction[:, 1:])  # not .norm(dim=1): 100x slower on CPU
    return torch.cat([box_mean_nchw(errors, 1), torch.log1p(size)], 1)


class LearntGate(nn.Module):
    """Features at half resolution -> four 3x3 convolutions (dilations 1, 2, 4, 8: a 61-px reach, so a
    pixel sees whether its neighbourhood's correction helped) -> sigmoid, upsampled bilinearly."""

    def __init__(self, *, channels: int = 12) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = FEATURES
        for d in (1, 2, 4, 8):
            layers += [nn.Conv2d(cin, channels, 3, padding=d, dilation=d), nn.ReLU()]
            cin = channels
        layers.append(nn.Conv2d(channels, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, image1: torch.Tensor, image2: torch.Tensor, flow_init: torch.Tensor,
                correction: torch.Tensor) -> torch.Tensor:
        x = gate_features(image1, image2, flow_init, correction).contiguous(memory_format=torch.channels_last)
        g = torch.sigmoid(self.net(x)).contiguous()  # channels-last: the CPU's convolutions run 1.6x faster
        return F.interpolate(g, size=image1.shape[-2:], mode="bilinear", align_corners=False)


__all__ = ["FEATURES", "LearntGate", "gate_features"]
