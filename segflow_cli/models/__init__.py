"""SegFlow networks and their named builders (like torchvision's raft_large / raft_small).

One folder per network: models/lite/ (segflow-lite, trained and shipped) and models/paper/
(segflow-paper, the published architecture); types.py (the output contract and the capabilities
every network declares) and memory.py (the space-time memory readout) are shared; weights.py is the
weights registry, transforms.py the input transform (with the DIS warm start); tensor ops (warp,
padder, cost volume) are segflow_cli.ops. Each network has a frozen config with to_dict/from_dict
(what a weights card stores) and the same names for the same ideas (trunk_pretrained: start the
trunk from ImageNet weights).

    model = segflow_lite(weights="segflow-lite")   # the trained, shipped network (eval mode)
    model = segflow_lite()                  # untrained: ImageNet trunk, fresh heads (what training starts from)
    model = segflow_paper()                 # the published ResNet-101 + FlowNetS architecture
    model = build_model("segflow-lite", config={...})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch.nn as nn

    from .lite import SegFlowLite

ARCHITECTURES = ("segflow-lite", "segflow-paper")


def __getattr__(name: str):
    """The networks, configs and transforms load on first use: importing the package (or the weights
    registry in it, which `segflow info` reads) does not import torch."""
    if name in ("LiteConfig", "SegFlowLite"):
        from . import lite

        return getattr(lite, name)
    if name in ("PairTransform", "transform_for"):
        from . import transforms

        return getattr(transforms, name)
    if name in ("SegFlowNet", "SegFlowOutput", "check_inputs"):
        from . import types

        return getattr(types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def segflow_lite(*, weights=None, **overrides: Any) -> SegFlowLite:
    """segflow-lite. ``weights`` (a registry name such as "segflow-lite", a .safetensors path or a
    weights.Weights entry): the trained network with its file's config, loaded, in eval mode.
    Without: LiteConfig defaults (ImageNet trunk, fresh heads), any field overridable by keyword."""
    if weights is not None:
        from .weights import build_loaded

        return build_loaded("segflow-lite", weights, overrides)
    from .lite import LiteConfig, SegFlowLite

    return SegFlowLite(config=LiteConfig(**overrides))


def segflow_paper(*, weights=None, **overrides: Any) -> nn.Module:
    """segflow-paper: ResNet-101 FCN-8s + FlowNetS with bidirectional fusion (about 81 M parameters);
    ``weights`` as for segflow_lite (none are shipped for it)."""
    if weights is not None:
        from .weights import build_loaded

        return build_loaded("segflow-paper", weights, overrides)
    from .paper import PaperConfig, SegFlowPaper

    return SegFlowPaper(config=PaperConfig(**overrides))


BUILDERS = {"segflow-lite": segflow_lite, "segflow-paper": segflow_paper}


def config_from_dict(architecture: str, config: dict | None = None):
    """The frozen config of a variant from a plain dict (as stored in a weights card)."""
    config = dict(config or {})
    config.pop("name", None)
    if architecture == "segflow-lite":
        from .lite import LiteConfig

        return LiteConfig.from_dict(config)
    if architecture == "segflow-paper":
        from .paper import PaperConfig

        return PaperConfig.from_dict(config)
    raise ValueError(f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")


def build_model(architecture: str, *, config: dict | None = None) -> nn.Module:
    """Build a variant by name from a plain config dict (as stored in a weights card)."""
    cfg = config_from_dict(architecture, config)
    if architecture == "segflow-lite":
        from .lite import SegFlowLite

        return SegFlowLite(config=cfg)
    from .paper import SegFlowPaper

    return SegFlowPaper(config=cfg)


def model_config_dict(model: nn.Module) -> dict:
    """The config of a built model as a JSON-able dict (stored next to its weights)."""
    cfg = getattr(model, "config", None)
    if cfg is None:
        return {}
    from dataclasses import asdict

    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def architecture_of(model: nn.Module) -> str:
    from .lite import SegFlowLite

    return "segflow-lite" if isinstance(model, SegFlowLite) else "segflow-paper"


__all__ = [
    "ARCHITECTURES", "BUILDERS", "LiteConfig", "PairTransform", "SegFlowLite", "SegFlowNet", "SegFlowOutput",
    "architecture_of", "build_model", "check_inputs", "config_from_dict", "model_config_dict", "segflow_lite",
    "segflow_paper", "transform_for",
]
