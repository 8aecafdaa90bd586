"""Weights registry: names -> `weights/<name>.safetensors` with a JSON card (sha256, architecture, config,
training data, steps, metrics). Weights are only ever read with safetensors (never unpickled).

A weights file is self-describing: its safetensors metadata holds the architecture and config, so
`--weights path/to/file.safetensors` works without a card.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import WeightsError

DEFAULT = "segflow-lite"
_HINT = "train them with `segflow train` (see README) or give a .safetensors path"


def _unavailable(problem: str) -> WeightsError:
    """Missing weights: the fix names the argument in the library and the flag on the command line."""
    return WeightsError(f"{problem}; {_HINT} as weights", cli=f"{problem}; {_HINT} (--weights PATH)")


def weights_dir() -> Path:
    """$SEGFLOW_WEIGHTS_DIR, else the repository's weights/ folder."""
    env = os.environ.get("SEGFLOW_WEIGHTS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "weights"


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


def resolve(spec: str) -> tuple[Path, dict | None]:
    """Map a registry name or a file path to (file, card or None); checks the card's sha256."""
    path = Path(spec)
    if path.suffix == ".safetensors" or path.exists() or os.sep in spec:
        if not path.is_file():
            raise _unavailable(f"weights file not found: {spec}")
        card_path = path.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else None
        return path, card
    cards = list_cards()
    if spec not in cards:
        known = ", ".join(cards) or "none yet"
        raise _unavailable(f"no trained weights named {spec!r} in {weights_dir()} (available: {known})")
    card = cards[spec]
    file = weights_dir() / card["file"]
    if not file.is_file():
        raise _unavailable(f"weights file {file} named by the {spec!r} card is missing")
    if card.get("sha256") and sha256_of(file) != card["sha256"]:
        raise WeightsError(f"{file} does not match the sha256 in its card (corrupt or replaced); restore it with git")
    return file, card


def load_model(spec: str = DEFAULT, *, device=None):
    """Build the network a weights file describes and load it (fp32, eval mode). Returns (model, card, sha256)."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    from .models import build_model

    file, card = resolve(spec)
    try:
        with safe_open(str(file), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{file} is not a readable safetensors file ({exc}); re-export or restore it") from None
    arch = meta.get("architecture") or (card or {}).get("architecture")
    if not arch:
        raise WeightsError(f"{file} carries no segflow architecture metadata; it is not a segflow weights file")
    config = json.loads(meta["config"]) if "config" in meta else (card or {}).get("config", {})
    config = {**config, "trunk_pretrained": False}  # the file has the trained trunk (same key in every config)
    try:
        model = build_model(arch, config=config)
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"{file} does not fit {arch} ({first[:160]}); it belongs to another model") from None
    model.eval()
    if device is not None:
        model.to(device)
    return model, card, sha256_of(file)


def save_weights(model, path: Path, *, card: dict | None = None, half: bool = True) -> str:
    """Weights-only export (fp16 by default) with metadata, written atomically; writes the card next to it.

    Returns the sha256 of the written file."""
    from safetensors.torch import save_file

    from .models import architecture_of, model_config_dict

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
