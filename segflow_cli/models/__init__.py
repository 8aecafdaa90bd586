"""SegFlow networks and their named builders (like torchvision's raft_large / raft_small).

One folder per network: models/lite/ (segflow-lite, trained and shipped) and models/paper/
(segflow-paper, the published architecture); types.py (the output contract) and memory.py (the
space-time memory readout) are shared; tensor ops (warp, padder, cost volume) are segflow_cli.ops.
Each network has a frozen config with to_dict/from_dict (what a weights card stores) and the same
names for the same ideas (trunk_pretrained: start the trunk from ImageNet weights).

    model = segflow_lite()                  # the default this project trains and ships
    model = segflow_paper()                 # the published ResNet-101 + FlowNetS architecture
    model = build_model("segflow-lite", config={...})
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn

from .lite import LiteConfig, SegFlowLite
from .types import SegFlowOutput, check_inputs

ARCHITECTURES = ("segflow-lite", "segflow-paper")


def segflow_lite(**overrides: Any) -> SegFlowLite:
    """segflow-lite with LiteConfig defaults, any field overridable by keyword."""
    return SegFlowLite(config=LiteConfig(**overrides))


def segflow_paper(**overrides: Any) -> nn.Module:
    """segflow-paper: ResNet-101 FCN-8s + FlowNetS with bidirectional fusion (about 81 M parameters)."""
    from .paper import PaperConfig, SegFlowPaper

    return SegFlowPaper(config=PaperConfig(**overrides))


def build_model(architecture: str, *, config: dict | None = None) -> nn.Module:
    """Build a variant by name from a plain config dict (as stored in a weights card)."""
    config = dict(config or {})
    config.pop("name", None)
    if architecture == "segflow-lite":
        return SegFlowLite(config=LiteConfig.from_dict(config))
    if architecture == "segflow-paper":
        from .paper import PaperConfig, SegFlowPaper

        return SegFlowPaper(config=PaperConfig.from_dict(config))
    raise ValueError(f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")


def model_config_dict(model: nn.Module) -> dict:
    """The config of a built model as a JSON-able dict (stored next to its weights)."""
    cfg = getattr(model, "config", None)
    if cfg is None:
        return {}
    from dataclasses import asdict

    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def architecture_of(model: nn.Module) -> str:
    return "segflow-lite" if isinstance(model, SegFlowLite) else "segflow-paper"


__all__ = [
    "ARCHITECTURES", "LiteConfig", "SegFlowLite", "SegFlowOutput", "build_model", "check_inputs",
    "segflow_lite", "segflow_paper", "model_config_dict", "architecture_of",
]
