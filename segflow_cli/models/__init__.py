"""SegFlow networks and their named builders (like torchvision's raft_large / raft_small).

    model = segflow_lite()                  # the default this project trains and ships
    model = segflow_paper()                 # the published ResNet-101 + FlowNetS architecture
    model = build_model("segflow-lite", config={...})
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn

from .config import LiteConfig
from .segflow_lite import SegFlowLite
from .types import SegFlowOutput, check_inputs

ARCHITECTURES = ("segflow-lite", "segflow-paper")


def segflow_lite(**overrides: Any) -> SegFlowLite:
    """segflow-lite with LiteConfig defaults, any field overridable by keyword."""
    return SegFlowLite(config=LiteConfig(**overrides))


def segflow_paper(**overrides: Any) -> nn.Module:
    """segflow-paper: ResNet-101 FCN-8s + FlowNetS with bidirectional fusion (about 81 M parameters)."""
    from .segflow_paper import PaperConfig, SegFlowPaper

    return SegFlowPaper(config=PaperConfig(**overrides))


def build_model(architecture: str, *, config: dict | None = None) -> nn.Module:
    """Build a variant by name from a plain config dict (as stored in a weights card)."""
    config = dict(config or {})
    config.pop("name", None)
    if architecture == "segflow-lite":
        return SegFlowLite(config=LiteConfig.from_dict(config))
    if architecture == "segflow-paper":
        from .segflow_paper import PaperConfig, SegFlowPaper

        known = PaperConfig.__dataclass_fields__
        return SegFlowPaper(config=PaperConfig(**{k: v for k, v in config.items() if k in known}))
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
