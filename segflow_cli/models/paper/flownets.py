"""FlowNetS (Dosovitskiy et al. 2015), the flow branch of the published SegFlow.

The layers are the standard FlowNetSimple ones (as in the official Caffe model and NVIDIA's
flownet2-pytorch): a contracting part conv1..conv6_1 on the channel-stacked frame pair and an
expanding part deconv5..deconv2 with predict_flow6..predict_flow2 and 2->2 flow upsamplers.
About 38.7 M parameters with a 6-channel (two RGB frames) input.

Units: like every FlowNet, predict_flowN is the flow in *input-resolution pixels divided by 20*
(``DIV_FLOW``) at every scale; callers multiply by ``DIV_FLOW`` to get pixels.
"""

from __future__ import annotations

import torch
import torch.nn as nn

DIV_FLOW = 20.0  # FlowNet trains on ground truth / 20, so its raw outputs are pixels / 20


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=True), nn.LeakyReLU(0.1, inplace=True))


def _deconv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=True), nn.LeakyReLU(0.1, inplace=True))


def _predict_flow(cin: int) -> nn.Conv2d:
    return nn.Conv2d(cin, 2, 3, 1, 1, bias=True)


def normalize_pair(image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) x2 RGB in [0, 1] -> (B, 6, H, W) FlowNet input.

    FlowNet subtracts the per-channel mean of the pair and keeps the [0, 1] range (the Caffe
    model scales by 1/255 and removes a running mean; flownet2-pytorch takes the pair's mean).
    """
    mean = torch.stack((image1, image2), dim=0).mean(dim=(0, 3, 4), keepdim=True)[0]  # (B, 3, 1, 1)
    return torch.cat((image1 - mean, image2 - mean), dim=1)


class FlowNetSEncoder(nn.Module):
    """Contracting part. (B, 6, H, W) with H, W multiples of 64 -> {stride: features}.

    Returns {2: conv1 (64), 4: conv2 (128), 8: conv3_1 (256), 16: conv4_1 (512), 32: conv5_1 (512),
    64: conv6_1 (1024)}, each (B, C, H/s, W/s).
    """

    strides = (2, 4, 8, 16, 32, 64)

    def __init__(self, *, in_channels: int = 6) -> None:
        super().__init__()
        self.conv1 = _conv(in_channels, 64, 7, 2)
        self.conv2 = _conv(64, 128, 5, 2)
        self.conv3 = _conv(128, 256, 5, 2)
        self.conv3_1 = _conv(256, 256, 3)
        self.conv4 = _conv(256, 512, 3, 2)
        self.conv4_1 = _conv(512, 512, 3)
        self.conv5 = _conv(512, 512, 3, 2)
        self.conv5_1 = _conv(512, 512, 3)
        self.conv6 = _conv(512, 1024, 3, 2)
        self.conv6_1 = _conv(1024, 1024, 3)

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        c1 = self.conv1(x)
        c2 = self.conv2(c1)
        c3 = self.conv3_1(self.conv3(c2))
        c4 = self.conv4_1(self.conv4(c3))
        c5 = self.conv5_1(self.conv5(c4))
        c6 = self.conv6_1(self.conv6(c5))
        return {2: c1, 4: c2, 8: c3, 16: c4, 32: c5, 64: c6}


class FlowNetSDecoder(nn.Module):
    """Expanding part: encoder features -> (flows, concats).

    flows: [flow6, flow5, flow4, flow3, flow2] coarse -> fine, (B, 2, H/s, W/s) for s = 64..4, in
        FlowNet units (pixels / DIV_FLOW).
    concats: {stride: decoder feature map} = {32: concat5 (1026), 16: concat4 (770), 8: concat3 (386),
        4: concat2 (194)}; each is [encoder skip, deconv, upsampled coarser flow], the maps SegFlow
        hands to the segmentation branch.
    """

    concat_channels = {32: 1026, 16: 770, 8: 386, 4: 194}

    def __init__(self) -> None:
        super().__init__()
        self.deconv5 = _deconv(1024, 512)
        self.deconv4 = _deconv(1026, 256)
        self.deconv3 = _deconv(770, 128)
        self.deconv2 = _deconv(386, 64)
        self.predict_flow6 = _predict_flow(1024)
        self.predict_flow5 = _predict_flow(1026)
        self.predict_flow4 = _predict_flow(770)
        self.predict_flow3 = _predict_flow(386)
        self.predict_flow2 = _predict_flow(194)
        self.upsample_flow6to5 = nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False)
        self.upsample_flow5to4 = nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False)
        self.upsample_flow4to3 = nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False)
        self.upsample_flow3to2 = nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False)

    def forward(self, feats: dict[int, torch.Tensor]) -> tuple[list[torch.Tensor], dict[int, torch.Tensor]]:
        x = feats[64]
        flow = self.predict_flow6(x)
        flows, concats = [flow], {}
        steps = (
            (32, self.deconv5, self.upsample_flow6to5, self.predict_flow5),
            (16, self.deconv4, self.upsample_flow5to4, self.predict_flow4),
            (8, self.deconv3, self.upsample_flow4to3, self.predict_flow3),
            (4, self.deconv2, self.upsample_flow3to2, self.predict_flow2),
        )
        for s, deconv, up, predict in steps:
            x = torch.cat((feats[s], deconv(x), up(flow)), dim=1)
            concats[s] = x
            flow = predict(x)
            flows.append(flow)
        return flows, concats


class FlowNetS(nn.Module):
    """Encoder + decoder; forward((B, 6, H, W)) -> (flows, concats) as FlowNetSDecoder documents."""

    def __init__(self, *, in_channels: int = 6) -> None:
        super().__init__()
        self.encoder = FlowNetSEncoder(in_channels=in_channels)
        self.decoder = FlowNetSDecoder()
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                # MSRA init, as the Caffe prototxt's weight_filler; constant-zero biases.
                nn.init.kaiming_normal_(m.weight, a=0.1, nonlinearity="leaky_relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], dict[int, torch.Tensor]]:
        if x.dim() != 4 or x.shape[-2] % 64 or x.shape[-1] % 64:
            # The skip concatenations only line up when every stride-2 level halves exactly.
            raise ValueError(f"FlowNetS needs (B, C, H, W) with H, W multiples of 64, got {tuple(x.shape)}; pad it first")
        return self.decoder(self.encoder(x))
