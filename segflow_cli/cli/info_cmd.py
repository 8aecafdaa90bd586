"""`segflow info`: versions, the device found, and the weights available with their cards.

It answers at once: it reads the cards (JSON), file sizes and checksums and never imports torch or
builds a network. The device line comes from what the system shows (NVIDIA driver, Apple silicon);
`--probe` asks torch itself (slower: it loads torch).
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import app
from .common import guard, stdout_console


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _nvidia_gpus() -> list[str]:
    """GPU model names the NVIDIA driver lists (Linux), without loading CUDA."""
    root = Path("/proc/driver/nvidia/gpus")
    names = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return names
    for gpu in entries:
        try:
            text = (gpu / "information").read_text()
        except OSError:
            continue
        model = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("Model:")), "NVIDIA GPU")
        names.append(model)
    return names


def _cheap_device() -> str:
    """What `--device auto` will pick, judged without torch."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    gpus = _nvidia_gpus()
    if gpus and visible not in ("", "-1"):
        return f"cuda ({gpus[0]}{f', {len(gpus)} GPUs' if len(gpus) > 1 else ''}; seen by the driver, --probe to check with torch)"
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return "mps (Apple silicon; --probe to check with torch)"
    return "cpu"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _bf16_line() -> str:
    """What the runner's bf16 policy (policy.cpu_native_bf16) does on this CPU, from its flags alone."""
    from ..policy import NATIVE_BF16_FLAGS, cpu_flags, cpu_native_bf16

    if cpu_native_bf16():
        kinds = ", ".join(sorted(set(NATIVE_BF16_FLAGS) & cpu_flags()))
        return (f"native ({kinds}): the key encoder, the trained trunk and the flow branch's convolutions run as "
                "bf16 copies on the CPU; features, flows and masks stay fp32")
    return f"not native (no {' / '.join(NATIVE_BF16_FLAGS)}): the networks run in fp32 on the CPU"


@app.command("info")
@guard
def info_command(
    probe: Annotated[bool, typer.Option("--probe", help="load torch to report the device it finds and its threads (slower)")] = False,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="check each weights file against its card's sha256")] = True,
) -> None:
    """Print versions, the compute device `auto` picks, and the registered weights."""
    from rich.table import Table

    from .. import __version__
    from ..policy import free_cores, pick_threads
    from ..weights import list_cards, sha256_of, weights_dir

    console = stdout_console()
    console.print(f"segflow {__version__}  python {platform.python_version()}  torch {_version('torch')}  "
                  f"torchvision {_version('torchvision')}", soft_wrap=True)
    if probe:
        import torch

        from ..policy import describe_device, resolve_device

        device = describe_device(resolve_device("auto"))
        console.print(f"device (auto): {device}; torch CPU threads now: {torch.get_num_threads()}", soft_wrap=True)
    else:
        console.print(f"device (auto): {_cheap_device()}", soft_wrap=True)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    n = pick_threads(None)
    console.print(f"CPU: {cores} cores usable, {free_cores()} free now; commands use {n} thread{'s' * (n != 1)} "
                  "(--threads N to choose)", soft_wrap=True)
    console.print(f"CPU bf16: {_bf16_line()}", soft_wrap=True)
    cards = list_cards()
    if not cards:
        console.print(f"weights: none in {weights_dir()} (train them with `segflow train`, see README)", soft_wrap=True)
        return
    console.print(f"weights in {weights_dir()}:", soft_wrap=True)
    table = Table("name", "architecture", "file", "size", "sha256", "training", "real-data figures")
    for name, card in cards.items():
        training = card.get("training", {})
        steps = training.get("steps_total", training.get("steps", "?"))
        file = weights_dir() / str(card.get("file", ""))
        if file.is_file():
            size = _size(file.stat().st_size)
            digest = card.get("sha256", "")
            if verify and digest:
                digest = digest[:12] + (" ok" if sha256_of(file) == digest else " MISMATCH (corrupt or replaced)")
            else:
                digest = digest[:12]
        else:
            size, digest = "missing", card.get("sha256", "")[:12]
        table.add_row(name, card.get("architecture", "?"), card.get("file", "?"), size, digest,
                      f"{steps} steps", _summary(card.get("metrics", {}).get("real_data", {})))
    console.print(table)


def _summary(real: dict) -> str:
    """'DAVIS J&F (stop 27) propagate (default) 82.3, segflow 81.8; flow EPE 4.46 (dis 5.21)' from a card's
    real-data block: its latest DAVIS runs only (the card keeps every earlier one, labelled by stop or
    "history", for the record; all of them in one cell were unreadable)."""
    import re

    parts = []
    davis = {k: v for k, v in real.get("davis2016_shared_8_sequences", {}).items()
             if isinstance(v, dict) and "J&F-Mean" in v and not k.startswith("history")}
    stops = {k: int(m.group(1)) for k in davis if (m := re.search(r"stop (\d+)", k))}
    if stops:  # the latest stop's runs
        latest = max(stops.values())
        davis = {k: v for k, v in davis.items() if stops.get(k) == latest}

    def label(key: str) -> str:
        name, _, rest = key.partition(" (")
        return f"{name} (default)" if rest.startswith("default") else name

    if davis:
        when = f" (stop {latest})" if stops else ""
        parts.append(f"DAVIS J&F{when} " + ", ".join(f"{label(k)} {100 * v['J&F-Mean']:.1f}" for k, v in davis.items()))
    flow = real.get("flow_shared_pairs", {})
    if "segflow" in flow:
        extra = ", ".join(f"{k} {v['EPE']:.2f}" for k, v in flow.items() if k != "segflow" and isinstance(v, dict) and "EPE" in v)
        parts.append(f"flow EPE {flow['segflow']['EPE']:.2f}" + (f" ({extra})" if extra else ""))
    return "; ".join(parts) or "-"
