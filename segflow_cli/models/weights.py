"""Weights registry (torchvision's ``WeightsEnum`` in spirit): names -> `weights/<name>.safetensors`
with a JSON card (sha256, architecture, config, training data, steps, metrics). Each entry knows its
builder, file, sha256, card and input transform, so one call gives a ready model and its inputs:

    w = get_weights("segflow-lite")          # a registry name or a .safetensors path
    model, transform = w.load(), w.transforms()
    model = segflow_lite(weights="segflow-lite")   # the same model through its builder

Weights are only ever read with safetensors (never unpickled). A weights file is self-describing:
its safetensors metadata holds the architecture and config, so `--weights path/to/file.safetensors`
works without a card. ``segflow_cli.weights`` is this module's public name.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import WeightsError

if TYPE_CHECKING:
    from .transforms import PairTransform

DEFAULT = "segflow-lite"
_HINT = "train them with `segflow train` (see README) or give a .safetensors path"


def _unavailable(problem: str) -> WeightsError:
    """Missing weights: the fix names the argument in the library and the flag on the command line."""
    return WeightsError(f"{problem}; {_HINT} as weights", cli=f"{problem}; {_HINT} (--weights PATH)")


def weights_dir() -> Path:
    """$SEGFLOW_WEIGHTS_DIR, else the repository's weights/ folder."""
    env = os.environ.get("SEGFLOW_WEIGHTS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "weights"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_cards() -> dict[str, dict]:
    """All cards in the weights folder, by name."""
    cards = {}
    for p in sorted(weights_dir().glob("*.json")):
        try:
            card = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(card, dict) and "file" in card:
            cards[card.get("name", p.stem)] = card
    return cards


def _locate(spec: str) -> tuple[Path, dict | None, str | None]:
    """A registry name or a file path -> (file, card or None, its sha256 when the card's was checked)."""
    path = Path(spec)
    if path.suffix == ".safetensors" or path.exists() or os.sep in spec:
        if not path.is_file():
            raise _unavailable(f"weights file not found: {spec}")
        card_path = path.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else None
        return path, card, None
    cards = list_cards()
    if spec not in cards:
        known = ", ".join(cards) or "none yet"
        raise _unavailable(f"no trained weights named {spec!r} in {weights_dir()} (available: {known})")
    card = cards[spec]
    file = weights_dir() / card["file"]
    if not file.is_file():
        raise _unavailable(f"weights file {file} named by the {spec!r} card is missing")
    digest = sha256_of(file) if card.get("sha256") else None
    if digest is not None and digest != card["sha256"]:
        raise WeightsError(f"{file} does not match the sha256 in its card (corrupt or replaced); restore it with git")
    return file, card, digest


def resolve(spec: str) -> tuple[Path, dict | None]:
    """Map a registry name or a file path to (file, card or None); checks the card's sha256."""
    file, card, _ = _locate(spec)
    return file, card


@dataclass(frozen=True)
class Weights:
    """One registry entry: the file (checked against its card's sha256), the card, the architecture
    and network config the file was trained with, its builder and its input transform."""

    name: str
    file: Path
    sha256: str
    card: dict | None = field(repr=False)
    architecture: str
    config: dict

    @property
    def builder(self) -> Callable:
        """The network's builder (``segflow_lite`` / ``segflow_paper``); ``builder(weights=self)`` loads."""
        from . import ARCHITECTURES, BUILDERS

        if self.architecture not in BUILDERS:
            raise _misfit(self, ValueError(f"unknown architecture; choose one of {', '.join(ARCHITECTURES)}"))
        return BUILDERS[self.architecture]

    def model_config(self):
        """The frozen network config (LiteConfig / PaperConfig) the file describes."""
        from . import config_from_dict

        return config_from_dict(self.architecture, self.config)

    def transforms(self) -> PairTransform:
        """The input transform these weights need (the DIS warm start for flow_init="dis")."""
        from .transforms import PairTransform

        return PairTransform(flow_init=self.model_config().flow_init)

    def state_dict(self) -> dict:
        """The tensors, as float32 (files are fp16)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(str(self.file))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{self.file} is not a readable safetensors file ({exc}); re-export or restore it") from None
        return {k: v.float() for k, v in state.items()}

    def load(self, *, device=None):
        """The trained network (fp32, eval mode), built by its builder, on ``device`` if given."""
        model = self.builder(weights=self)
        return model if device is None else model.to(device)


def get_weights(spec: str | Weights = DEFAULT) -> Weights:
    """The registry entry for a name (see ``list_cards``) or a .safetensors path; a Weights passes through."""
    if isinstance(spec, Weights):
        return spec
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    file, card, digest = _locate(str(spec))
    try:
        with safe_open(str(file), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{file} is not a readable safetensors file ({exc}); re-export or restore it") from None
    arch = meta.get("architecture") or (card or {}).get("architecture")
    if not arch:
        raise WeightsError(f"{file} carries no segflow architecture metadata; it is not a segflow weights file")
    config = json.loads(meta["config"]) if "config" in meta else (card or {}).get("config", {})
    name = (card or {}).get("name", file.stem)
    return Weights(name=name, file=file, sha256=digest or sha256_of(file), card=card, architecture=arch, config=config)


def build_loaded(architecture: str, weights: str | Weights, overrides: dict | None = None):
    """What a builder does with ``weights=``: build ``architecture`` with the file's config (``overrides``
    on top), load the file (strict) and put it in eval mode. The file holds the whole trained network,
    trunk included, so the builder does not load the ImageNet trunk first (as torchvision drops
    weights_backbone when weights are given). A file that does not fit is a one-line WeightsError."""
    from . import build_model

    w = get_weights(weights)
    if w.architecture != architecture:
        raise WeightsError(f"{w.file} holds {w.architecture} weights, not {architecture}; use its own builder")
    try:
        model = build_model(architecture, config={**w.config, **(overrides or {}), "trunk_pretrained": False})
        model.load_state_dict(w.state_dict(), strict=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise _misfit(w, exc) from None
    return model.eval()


def _misfit(weights: Weights, exc: Exception) -> WeightsError:
    first = str(exc).strip().splitlines()[0]
    return WeightsError(f"{weights.file} does not fit {weights.architecture} ({first[:160]}); it belongs to another model")


def load_model(spec: str = DEFAULT, *, device=None):
    """Build the network a weights file describes and load it (fp32, eval mode). Returns (model, card, sha256)."""
    w = get_weights(spec)
    return w.load(device=device), w.card, w.sha256


def save_weights(model, path: Path, *, card: dict | None = None, half: bool = True) -> str:
    """Weights-only export (fp16 by default) with metadata, written atomically; writes the card next to it.

    Returns the sha256 of the written file."""
    from safetensors.torch import save_file

    from . import architecture_of, model_config_dict

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = getattr(model, "module", model)  # unwrap DDP: no "module." prefix on disk
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in module.state_dict().items()}
    meta = {"architecture": architecture_of(module), "config": json.dumps(model_config_dict(module))}
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.replace(tmp, path)
    digest = sha256_of(path)
    full_card = {"name": path.stem, "file": path.name, "sha256": digest, **meta, "config": json.loads(meta["config"])}
    full_card.update(card or {})
    full_card["sha256"], full_card["file"] = digest, path.name
    tmpc = path.with_suffix(".json.tmp")
    tmpc.write_text(json.dumps(full_card, indent=2) + "\n")
    os.replace(tmpc, path.with_suffix(".json"))
    return digest


def save_derived(model, path: Path, *, parent: Weights, note: str = "") -> str:
    """Save weights made from ``parent`` without training (a layer added, a setting changed): its card
    carries over (training chain, metrics) with the parent's sha256 recorded and ``note`` appended;
    the config is the new model's. Returns the new file's sha256."""
    card = json.loads(json.dumps(parent.card or {}))
    card.pop("config", None)
    card["previous_sha256"] = parent.sha256
    if note:
        card["note"] = (card.get("note", "") + " " + note).strip()
    return save_weights(model, Path(path), card=card)


__all__ = [
    "DEFAULT", "Weights", "build_loaded", "get_weights", "list_cards", "load_model", "resolve", "save_derived",
    "save_weights", "sha256_of", "weights_dir",
]
