"""segflow-paper: the published SegFlow (Cheng et al., ICCV 2017) as its Caffe deploy.prototxt builds it.

ResNet-101 FCN-8s segmentation branch (resnet_fcn.py) + FlowNetS flow branch (flownets.py), joined
by the bidirectional fusion of fusion.py: FlowNetS decoder maps are pooled into the ResNet
res3/res4/res5 maps, and both the segmentation head and the "score_flow" head read the fused maps.
About 81.2 M parameters. No trained weights exist for it here; it builds from random init.

Deviations from the Caffe model, each for the project's contract: inputs are padded to a multiple
of 64 (not resized to 896x512); one foreground logit per object instead of a 2-way softmax;
an optional per-object prior; the final flow is FlowNetS's flow2 plus the fused head's correction
(``flow_residual=False`` gives the prototxt's score_flow alone); small non-zero score-layer init.
"""

from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from ...ops import InputPadder, backward_warp
from ..types import SegFlowOutput, check_inputs
from .config import PaperConfig
from .flownets import DIV_FLOW, FlowNetS, normalize_pair
from .fusion import FUSED_CHANNELS, FlowToSeg, FusedFlowHead, PriorInjection
from .resnet_fcn import FCN8sHead, ResNetTrunk

STRIDE = 64  # FlowNetS's conv6 stride; inputs are padded to a multiple of it


class SegFlowPaper(nn.Module):
    """forward(image1, image2, *, prior=None, flow_init=None, prev_probs=None) -> SegFlowOutput.

    image1, image2: (B, 3, H, W) float RGB in [0, 1], any H, W (padded to 64 inside, outputs unpadded).
    prior: (B, K, H, W) in [0, 1], per-object masks aligned with image1; K = 1 when None.
    prev_probs: (B, K, H, W) object probabilities of image2, warped to image1 by the predicted flow
        (gradient stopped) to become the prior; give prior or prev_probs, not both.
    flow_init: not supported (FlowNetS has no warm start); giving one raises ValueError.
    Returns seg_logits (B, K, H, W); flow (B, 2, H, W) image1 -> image2 in input pixels;
    flow_preds = [flow6, flow5, flow4, flow3, flow2] of FlowNetS (its raw outputs x 20, i.e. input
    pixels, at strides 64..4 of the padded grid) followed by the final flow at full padded size;
    seg_preds = FCN-8s logits at strides 32, 16, 8 of the padded grid, each (B, K, h, w).
    """

    # Capabilities (models/types.py SegFlowNet): warps prev_probs itself; no first-frame matching, no memory.
    supports_prev_probs = True
    supports_reference = False
    supports_memory = False

    def __init__(self, *, config: PaperConfig = PaperConfig()) -> None:
        super().__init__()
        self.config = config
        self.trunk = ResNetTrunk(pretrained=config.trunk_pretrained)
        self.flownet = FlowNetS(in_channels=6)
        self.fusion = FlowToSeg(res3_scale=config.res3_scale, res4_scale=config.res4_scale)
        self.prior_injection = PriorInjection()
        self.seg_head = FCN8sHead(in_channels=FUSED_CHANNELS, out_channels=1, init_std=config.seg_init_std)
        self.flow_head = FusedFlowHead()

    def seg_modules(self) -> list[nn.Module]:
        """What the segmentation phase trains (the flow phase freezes these)."""
        return [self.trunk, self.seg_head, self.prior_injection]

    def flow_modules(self) -> list[nn.Module]:
        """What the flow phase trains (the segmentation phase freezes these)."""
        return [self.flownet, self.flow_head]

    def flow(self, image1, image2, *, flow_init=None) -> torch.Tensor:
        """The flow image1 -> image2 (B, 2, H, W); the fused flow head reads the trunk, so this is the
        forward pass's flow (the segmentation head is cheap beside FlowNetS)."""
        return self.forward(image1, image2, flow_init=flow_init).flow

    def forward(self, image1, image2, *, prior=None, flow_init=None, prev_probs=None) -> SegFlowOutput:
        check_inputs(image1, image2, prior, flow_init)
        if flow_init is not None:
            raise ValueError("segflow-paper does not take flow_init (FlowNetS starts from scratch); leave it out")
        if prev_probs is not None:
            if prior is not None:
                raise ValueError("give either prior or prev_probs, not both")
            check_inputs(image1, image2, prev_probs)
        for p in (prior, prev_probs):
            if p is not None and p.shape[1] < 1:
                raise ValueError(f"a prior needs at least one object channel, got {tuple(p.shape)}")
        padder = InputPadder(image1.shape, stride=STRIDE)
        im1, im2 = padder.pad(image1, image2)
        b, _, hp, wp = im1.shape

        res = self.trunk(im1)
        flows, concats = self.flownet(normalize_pair(im1, im2))
        fused = self.fusion(res, concats)
        flow_preds = [f * DIV_FLOW for f in flows]
        flow = self.flow_head(fused, size=(hp, wp))
        if self.config.flow_residual:
            flow = flow + F.interpolate(flow_preds[-1], size=(hp, wp), mode="bilinear", align_corners=False)

        if prev_probs is not None:
            prior = backward_warp(padder.pad(prev_probs)[0], flow.detach())
        elif prior is not None:
            prior = padder.pad(prior)[0]
        k = 1 if prior is None else prior.shape[1]
        if prior is not None:
            fused = self.prior_injection(fused, prior.reshape(b * k, 1, hp, wp), k=k)
        logits, coarse = self.seg_head(fused, size=(hp, wp))
        return SegFlowOutput(
            seg_logits=padder.unpad(logits.reshape(b, k, hp, wp)),
            flow=padder.unpad(flow),
            flow_preds=flow_preds + [flow],
            seg_preds=[c.reshape(b, k, *c.shape[-2:]) for c in coarse],
        )
