"""`segflow info`: versions, the device found, and the weights available with their cards."""

from __future__ import annotations

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
    table = Table("name", "architecture", "file", "sha256", "training", "real-data figures", title=f"weights in {weights_dir()}")
    for name, card in cards.items():
        training = card.get("training", {})
        steps = training.get("steps_total", training.get("steps", "?"))
        table.add_row(name, card.get("architecture", "?"), card.get("file", "?"), card.get("sha256", "")[:12],
                      f"{steps} steps", _summary(card.get("metrics", {}).get("real_data", {})))
    console.print(table)


def _summary(real: dict) -> str:
    """'DAVIS J&F 44.8 (dis-warp 43.7); flow EPE 5.19 (dis 5.21)' from a card's real-data block."""
    parts = []
    davis = real.get("davis2016_shared_8_sequences", {})
    if "segflow" in davis:
        base = {k: v for k, v in davis.items() if k != "segflow"}
        extra = ", ".join(f"{k} {100 * v['J&F-Mean']:.1f}" for k, v in base.items())
        parts.append(f"DAVIS J&F {100 * davis['segflow']['J&F-Mean']:.1f}" + (f" ({extra})" if extra else ""))
    flow = real.get("flow_shared_pairs", {})
    if "segflow" in flow:
        extra = ", ".join(f"{k} {v['EPE']:.2f}" for k, v in flow.items() if k not in ("segflow", "command"))
        parts.append(f"flow EPE {flow['segflow']['EPE']:.2f}" + (f" ({extra})" if extra else ""))
    return "; ".join(parts) or "-"
