"""Segmentation branch of the published SegFlow: ResNet-101 trunk and an FCN-8s style head.

The trunk is torchvision's resnet101 without avgpool/fc (42.5 M parameters), the same layout as
the Caffe ResNet-101 in the official model (res3b3, res4b22, res5c = layer2, layer3, layer4 here).
The head follows FCN-8s: a 1x1 score layer per stride (32, 16, 8), each coarser score upsampled
x2 with *fixed* bilinear weights and summed with the next finer one, then x8 to the input size.
The Caffe model does this with deconvolutions frozen to bilinear kernels plus Crop layers;
bilinear interpolation to the exact target size is the same operation without the crop offsets.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...errors import WeightsError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ResNetTrunk(nn.Module):
    """ResNet-101 feature extractor.

    forward((B, 3, H, W) RGB in [0, 1]) -> {8: res3 (B, 512, H/8, W/8), 16: res4 (B, 1024, H/16, W/16),
    32: res5 (B, 2048, H/32, W/32)}; ImageNet mean/std normalisation happens inside.
    pretrained=True loads torchvision's ImageNet weights from the local torch hub cache only
    (this project downloads nothing); without them it raises WeightsError.
    """

    strides = (8, 16, 32)
    channels = (512, 1024, 2048)

    def __init__(self, *, pretrained: bool = False) -> None:
        super().__init__()
        from torchvision.models import resnet101

        # Zero-init of each block's last BN gamma keeps a random trunk's activations bounded in eval
        # mode (BN with unit running stats is then no normaliser); ImageNet weights overwrite it.
        net = resnet101(weights=None, zero_init_residual=True)
        if pretrained:
            net.load_state_dict(_cached_imagenet_weights())
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        # Not persistent: the constants are not weights and must not appear in checkpoints.
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        x = (x - self.mean) / self.std
        r2 = self.layer1(self.stem(x))
        r3 = self.layer2(r2)
        r4 = self.layer3(r3)
        r5 = self.layer4(r4)
        return {8: r3, 16: r4, 32: r5}


def _cached_imagenet_weights() -> dict:
    from pathlib import Path

    from torchvision.models import ResNet101_Weights

    url = ResNet101_Weights.IMAGENET1K_V1.url
    path = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if not path.is_file():
        raise WeightsError(
            f"trunk_pretrained=True needs torchvision's ResNet-101 weights at {path}; copy the file there "
            "or build with trunk_pretrained=False"
        )
    return torch.load(path, map_location="cpu", weights_only=True)


class FCN8sHead(nn.Module):
    """FCN-8s scoring and skip fusion over three maps.

    forward({8: (N, C8, h8, w8), 16: (N, C16, ...), 32: (N, C32, ...)}, size=(H, W)) ->
        (scores (N, out_channels, H, W), [score32, fused16, fused8] coarse -> fine at their strides).
    init_std: std of the normal init of the score layers (Caffe fills them with zeros; a small
        non-zero start lets gradients reach the feature extractors from the first step).
    """

    def __init__(self, *, in_channels: dict[int, int], out_channels: int, init_std: float = 0.01) -> None:
        super().__init__()
        self.score = nn.ModuleDict({str(s): nn.Conv2d(in_channels[s], out_channels, 1) for s in (8, 16, 32)})
        for conv in self.score.values():
            nn.init.normal_(conv.weight, std=init_std)
            nn.init.zeros_(conv.bias)

    def forward(self, feats: dict[int, torch.Tensor], *, size: tuple[int, int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        s32 = self.score["32"](feats[32])
        f16 = self.score["16"](feats[16]) + _up(s32, feats[16])
        f8 = self.score["8"](feats[8]) + _up(f16, feats[8])
        out = F.interpolate(f8, size=size, mode="bilinear", align_corners=False)
        return out, [s32, f16, f8]


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Fixed bilinear upsampling of x to like's spatial size (FCN's frozen 'upscore' layers)."""
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)
