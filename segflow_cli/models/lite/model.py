"""segflow-lite: the SegFlow composition sized for CPU training and inference.

Only composes the parts: LiteTrunk (segmentation encoder), FlowPyramid + PyramidFlowDecoder (flow
branch), BidirectionalFusion, SegDecoder, first-frame matching, and the space-time memory readout
(models/memory.py, shared). See config.LiteConfig for the knobs.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...ops import InputPadder, backward_warp
from ..memory import MemoryState, advance_positions, readout
from ..types import SegFlowOutput, check_inputs
from .config import LiteConfig
from .encoders import FlowPyramid, KeyEncoder, LiteTrunk
from .flow_branch import PyramidFlowDecoder, residual_gate
from .flow_gate import LearntGate
from .flow_select import select_flow
from .fusion import BidirectionalFusion
from .matching import MATCH_CHANNELS, ReferenceMemory, embed, make_memory, match
from .seg_branch import SegDecoder

STRIDE = 32  # the trunk's output stride; inputs are padded to a multiple of it
READOUT_EPS = 0.01  # the gated skip's logit is clamped to +-4.6, which a correction can still outweigh


class SegFlowLite(nn.Module):
    """forward(image1, image2, *, prior=None, flow_init=None, prev_probs=None, reference=None) -> SegFlowOutput.

    image1, image2: (B, 3, H, W) RGB in [0, 1], any H, W (padded inside, outputs unpadded).
    prior: (B, K, H, W) per-object probabilities aligned with image1 (previous masks warped to it),
        or None for a generic foreground (K = 1).
    flow_init: (B, 2, H, W) initial flow image1 -> image2 (e.g. DIS) that the flow branch refines.
    prev_probs: (B, K, H, W) object probabilities of image2; warped to image1 by the predicted flow
        (gradient stopped) they become the prior. This is how a video session tracks objects:
        image1 = current frame, image2 = previous frame, so the flow is the backward flow.
    reference: a ReferenceMemory from ``encode_reference`` (the annotated frame and its K object
        masks), or the pair (image (B, 3, H, W), masks (B, K, H, W)) to encode here (training);
        its matching scores join the prior in the decoder (config.reference_matching).
    memory: a MemoryState (batch 1) of past frames on the padded stride-8 grid; with prev_probs, the
        predicted flow advances its window centres and its readout becomes (part of) the prior
        (config.memory_prior). The output then carries the readout and the advanced positions.
    """

    supports_prev_probs = True
    supports_reference = True
    supports_memory = True  # capabilities: models/types.py SegFlowNet

    def __init__(self, *, config: LiteConfig = LiteConfig()) -> None:
        super().__init__()
        self.config = config
        self.trunk = LiteTrunk(pretrained=config.trunk_pretrained)
        # The memory key's own frozen encoder, or None: the key comes from the shared trunk (older cards).
        self.key_encoder = KeyEncoder(pretrained=config.trunk_pretrained) if config.key_encoder == "imagenet" else None
        self.flow_pyramid = FlowPyramid(channels=config.flow_channels)
        pyramid_strides = tuple(2 ** (i + 1) for i in range(len(config.flow_channels)))
        self.flow_strides = tuple(s for s in reversed(pyramid_strides) if s >= 4)  # coarse -> fine
        trunk_ch = dict(zip(LiteTrunk.strides, LiteTrunk.channels))
        self.fusion = BidirectionalFusion(
            strides=config.fusion_strides, trunk_channels=trunk_ch, flow_feature_channels=32, channels=config.fusion_channels
        )
        self.flow_decoder = PyramidFlowDecoder(
            feat_channels=dict(zip(pyramid_strides, config.flow_channels)), strides=self.flow_strides,
            corr_radius=config.corr_radius, fusion_strides=config.fusion_strides, fusion_channels=config.fusion_channels,
        )
        self.flow_gate_net = LearntGate() if config.flow_gate_net else None
        self.seg_decoder = SegDecoder(
            trunk_channels=trunk_ch, fusion_strides=config.fusion_strides,
            fusion_channels=config.fusion_channels, width=config.decoder_channels,
            match_channels=MATCH_CHANNELS if config.reference_matching else 0, match_skip=config.match_skip,
            warp_input=config.memory_decoder, gate=config.memory_gate,
        )

    def seg_modules(self) -> list[nn.Module]:
        """What the segmentation phase trains (the flow phase freezes these)."""
        return [self.trunk, self.seg_decoder, self.fusion.to_seg]

    def flow_modules(self) -> list[nn.Module]:
        """What the flow phase trains (the segmentation phase freezes these; the learnt gate too, if any)."""
        gate = [self.flow_gate_net] if self.flow_gate_net is not None else []
        return [self.flow_pyramid, self.flow_decoder, self.fusion.to_flow, *gate]

    def encode_reference(self, image: torch.Tensor, masks: torch.Tensor) -> ReferenceMemory:
        """image (B, 3, H, W) in [0, 1] and its object masks (B, K, H, W) in [0, 1] -> ReferenceMemory."""
        check_inputs(image, image, masks)
        padder = InputPadder(image.shape, stride=STRIDE)
        im, m = padder.pad(image, masks.to(image.dtype))
        feats = self.trunk(im, upto=16)
        return make_memory(embed(feats[1], feats[2]), m)

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """image (B, 3, H, W) in [0, 1] -> (B, C, Hp/8, Wp/8) the memory key (padded grid)."""
        padder = InputPadder(image.shape, stride=STRIDE)
        im = padder.pad(image)[0]
        if self.key_encoder is not None:
            return self.key_encoder(im)
        feats = self.trunk(im, upto=16)
        return embed(feats[1], feats[2])

    def _trunk_and_flow(self, image1, image2, flow_init, *, want_key: bool = True, want_seg: bool = True):
        """The shared first half of a forward pass: padded inputs, trunk features of image1, the flow
        branch (per-scale flows, level features, the full-resolution flow on the padded grid) and
        image1's memory key (from the key encoder when there is one, else the trunk's embedding; the
        key encoder, a second trunk pass, runs only ``want_key``: flow alone does not need it).
        Without ``want_seg`` the trunk stops at the deepest stride the flow branch and the key read
        (stride 16; the stride-32 stage only feeds the segmentation decoder): the same flow, about a
        third of the trunk's time saved."""
        padder = InputPadder(image1.shape, stride=STRIDE)
        im1, im2 = padder.pad(image1, image2)
        b, _, hp, wp = im1.shape
        init = None if flow_init is None else padder.pad(flow_init)[0]
        upto = LiteTrunk.strides[-1] if want_seg else max(16, *self.config.fusion_strides)
        trunk = dict(zip(LiteTrunk.strides, self.trunk(im1, upto=upto)))
        pyr = self.flow_pyramid(torch.cat([im1, im2], dim=0))  # one pass for both frames
        strides = [2 ** (i + 1) for i in range(len(pyr))]
        f1 = {s: x[:b] for s, x in zip(strides, pyr)}
        f2 = {s: x[b:] for s, x in zip(strides, pyr)}
        flows, level_feats, delta = self.flow_decoder(f1, f2, self.fusion.seg_to_flow(trunk), init)
        flow = F.interpolate(delta, size=(hp, wp), mode="bilinear", align_corners=False)
        if init is not None:
            gate = self.correction_gate(im1, im2, init, flow)
            flow = init + (flow if gate is None else flow * gate)
            if self.config.flow_select_radius > 0 and not self.training:  # an inference-time choice (flow_select.py)
                flow = select_flow(im1, im2, init, flow, radius=self.config.flow_select_radius,
                                   max_change=self.config.flow_select_max)
        if self.key_encoder is None:
            key = embed(trunk[8], trunk[16])
        else:
            key = self.key_encoder(im1) if want_key else None
        return padder, im1, trunk, flows, level_feats, flow, key

    def correction_gate(self, image1, image2, flow_init, correction) -> torch.Tensor | None:
        """How much of the flow branch's full-resolution correction joins the warm start: (B, 1, H, W) in
        [0, 1], the residual gate (config.flow_gate: only where the warm start fails) times the learnt gate
        (config.flow_gate_net: only where the correction is likely to help), or None when neither is on.
        Images (B, 3, H, W) in [0, 1]; flows (B, 2, H, W) in pixels. scripts/train_flow_gate.py trains
        the learnt gate through this."""
        gate = None
        if self.config.flow_gate > 0:
            gate = residual_gate(image1, image2, flow_init, scale=self.config.flow_gate)
        if self.flow_gate_net is not None:
            learnt = self.flow_gate_net(image1, image2, flow_init, correction)
            gate = learnt if gate is None else gate * learnt
        return gate

    def flow(self, image1, image2, *, flow_init=None) -> torch.Tensor:
        """The flow image1 -> image2 (B, 2, H, W) alone: the trunk (its features cross into the flow branch)
        and the flow branch, without the segmentation decoder or the memory key (``segflow flow``)."""
        check_inputs(image1, image2, None, flow_init)
        padder, _, _, _, _, flow, _ = self._trunk_and_flow(image1, image2, flow_init, want_key=False, want_seg=False)
        return padder.unpad(flow)

    def flow_and_embedding(self, image1, image2, *, flow_init=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The flow image1 -> image2 (B, 2, H, W) and image1's memory key (B, C, Hp/8, Wp/8), without the
        segmentation decoder (what a memory-only session needs for its flow output)."""
        check_inputs(image1, image2, None, flow_init)
        padder, _, _, _, _, flow, emb = self._trunk_and_flow(image1, image2, flow_init, want_seg=False)
        return padder.unpad(flow), emb

    def forward(self, image1, image2, *, prior=None, flow_init=None, prev_probs=None, reference=None,
                memory: MemoryState | None = None) -> SegFlowOutput:
        check_inputs(image1, image2, prior, flow_init)
        if prev_probs is not None:
            if prior is not None:
                raise ValueError("give either prior or prev_probs, not both")
            check_inputs(image1, image2, prev_probs)
        use_memory = memory is not None and self.config.memory_prior != "warp"
        # A session with a memory stores the key even where the config ignores the readout ("warp").
        padder, im1, trunk, flows, level_feats, flow, key = self._trunk_and_flow(image1, image2, flow_init,
                                                                                want_key=memory is not None)
        b, _, hp, wp = im1.shape
        fused = self.fusion.flow_to_seg(level_feats, dict(zip(self.flow_strides, flows)))
        if prev_probs is not None:
            prior = backward_warp(padder.pad(prev_probs)[0], flow.detach())
        elif prior is not None:
            prior = padder.pad(prior)[0]
        read = read_full = positions = warp = None
        if use_memory:
            memories = [memory] if isinstance(memory, MemoryState) else list(memory)
            if prior is None or len(memories) != b:
                raise ValueError(f"memory needs prev_probs or a prior and one MemoryState per video ({b}), got {len(memories)}")
            reads = [self._read_memory(m, key[i].detach(), flow.detach()[i]) for i, m in enumerate(memories)]
            read = torch.stack([r for r, _ in reads])
            positions = torch.stack([p for _, p in reads]) if b == 1 else None
            warp = prior
            read_full = F.interpolate(read, size=prior.shape[-2:], mode="bilinear", align_corners=False).to(prior.dtype)
            prior = self._memory_prior(prior, read_full[:, 1:])
        k = 1 if prior is None else prior.shape[1]
        pr = im1.new_full((b, 1, hp, wp), 0.5) if prior is None else prior.reshape(b * k, 1, hp, wp)
        scores = None
        if reference is not None and self.config.reference_matching:
            if isinstance(reference, tuple):
                reference = self.encode_reference(*reference)
            if reference.objects != k:
                raise ValueError(f"the reference memory holds {reference.objects} objects but the prior has {k}")
            # The reference was encoded by the trunk (encode_reference), so it is matched in the trunk's
            # embedding, whichever encoder makes the memory key.
            emb = key if self.key_encoder is None else embed(trunk[8], trunk[16])
            scores = match(reference, emb, topk=self.config.match_topk)
        logits, gate = self.seg_decoder(trunk, fused, pr, k, scores, None if warp is None else warp.reshape(b * k, 1, hp, wp))
        logits = F.interpolate(logits, size=(hp, wp), mode="bilinear", align_corners=False)
        if gate is not None and read is not None:
            # Gated residual on the readout: the readout's own logit plus a correction the decoder
            # switches on per pixel, so the network starts as (and can fall back to) the readout alone.
            g = torch.sigmoid(F.interpolate(gate, size=(hp, wp), mode="bilinear", align_corners=False))
            if self.config.memory_gate_focus > 0:  # the correction acts where the readout is unsure
                g = g * (1.0 - (2.0 * pr.detach() - 1.0).abs()).clamp(0, 1) ** self.config.memory_gate_focus
            skip = torch.logit(pr.clamp(READOUT_EPS, 1.0 - READOUT_EPS))
            logits = (skip + g * logits).reshape(b, k, hp, wp)
        else:
            # The prior skip at full resolution keeps its sharp edges; the decoder learns the correction.
            logits = (logits + self.config.prior_gain * (2.0 * pr - 1.0)).reshape(b, k, hp, wp)
        return SegFlowOutput(
            seg_logits=padder.unpad(logits), flow=padder.unpad(flow), flow_preds=flows + [flow], seg_preds=[],
            embedding=key, readout=read, positions=positions,
            readout_full=None if gate is None or read_full is None else padder.unpad(read_full),
        )

    def _read_memory(self, memory: MemoryState, emb: torch.Tensor, flow: torch.Tensor):
        """emb (C, h, w), flow (2, Hp, Wp) current -> previous frame in pixels -> readout (V, h, w) and the
        windows' centres (T, 2, h, w): the flow, pooled to cells, chains each recent frame's positions."""
        h, w = emb.shape[-2:]
        cells = F.adaptive_avg_pool2d(flow[None], (h, w))[0] * flow.new_tensor([w / flow.shape[-1], h / flow.shape[-2]]).view(2, 1, 1)
        # Windows centred where the flow says each pixel came from, or (memory_flow_windows False) in place,
        # as propagate reads them (the flow's errors on a running, half-hidden object then cannot move them).
        positions = advance_positions(memory.positions, cells) if self.config.memory_flow_windows else memory.positions
        return readout(emb.float(), memory, config=self.config.readout, positions=positions), positions

    def _memory_prior(self, prior: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
        """prior (B, K, Hp, Wp) flow-warped; up (B, K, Hp, Wp) the objects' readout -> the prior the decoder sees."""
        return up if self.config.memory_prior == "readout" else 0.5 * (prior + up)
