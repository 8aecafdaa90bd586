"""The weights registry's public name: ``segflow_cli.weights`` is :mod:`segflow_cli.models.weights`
(it lives beside the builders that load it, as torchvision's weights enums do). No torch at import."""

from .models.weights import (
    DEFAULT, Weights, build_loaded, get_weights, list_cards, load_model, resolve, save_derived, save_weights, sha256_of,
    weights_dir,
)

__all__ = [
    "DEFAULT", "Weights", "build_loaded", "get_weights", "list_cards", "load_model", "resolve", "save_derived",
    "save_weights", "sha256_of", "weights_dir",
]
