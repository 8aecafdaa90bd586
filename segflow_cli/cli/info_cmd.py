"""`segflow info`: versions, the device found, and the weights available with their cards."""

from __future__ import annotations

import json

import typer

from . import app
from .common import guard


@app.command("info")
@guard
def info_command() -> None:
    """Print versions, the compute device `auto` picks, and the registered weights."""
    import platform

    import torch
    import torchvision
    from rich.console import Console
    from rich.table import Table

    from .. import __version__
    from ..policy import describe_device, resolve_device
    from ..weights import list_cards, weights_dir

    console = Console()
    console.print(f"segflow {__version__}  python {platform.python_version()}  torch {torch.__version__}  "
                  f"torchvision {torchvision.__version__}")
    console.print(f"device (auto): {describe_device(resolve_device('auto'))}; CPU threads: {torch.get_num_threads()}")
    cards = list_cards()
    if not cards:
        console.print(f"weights: none in {weights_dir()} (train them with `segflow train`, see README)")
        return
    table = Table("name", "architecture", "file", "sha256", "training", "metrics", title=f"weights in {weights_dir()}")
    for name, card in cards.items():
        training = card.get("training", {})
        table.add_row(name, card.get("architecture", "?"), card.get("file", "?"), card.get("sha256", "")[:12],
                      f"{training.get('steps', '?')} steps", json.dumps(card.get("metrics", {}))[:80])
    console.print(table)
