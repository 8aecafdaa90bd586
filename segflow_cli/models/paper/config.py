"""Frozen configuration of the segflow-paper network (segflow-lite's is models/lite/config.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PaperConfig:
    """Knobs of segflow-paper (defaults follow the official prototxt).

    trunk_pretrained: load torchvision ImageNet ResNet-101 weights from the local torch hub cache.
    res3_scale, res4_scale: fixed factors on res3/res4 before fusion (prototxt scale_res3/scale_res4).
    flow_residual: final flow = upsampled FlowNetS flow2 + fused-head correction (True), or the
        fused head alone as in the prototxt's score_flow (False).
    seg_init_std: normal init std of the segmentation score layers.
    """

    name: str = "segflow-paper"
    trunk_pretrained: bool = False
    res3_scale: float = 1e-4
    res4_scale: float = 1e-2
    flow_residual: bool = True
    seg_init_std: float = 0.01

    @property
    def flow_init(self) -> str:
        """FlowNetS takes no warm start (the inputs need no DIS flow; models/transforms.py)."""
        return "none"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PaperConfig":
        d = dict(d)
        if "pretrained_trunk" in d:  # the name before trunk_pretrained (segflow-lite's) became the only one
            d.setdefault("trunk_pretrained", d.pop("pretrained_trunk"))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})
