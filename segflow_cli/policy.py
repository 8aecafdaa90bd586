"""One device and precision policy for every command (train, segment, flow, benchmark).

``resolve_device("auto")`` picks cuda, then mps, then cpu. ``autocast(device, precision)`` returns a
context that enables mixed precision only where the device supports it (fp16/bf16 on CUDA, bf16
on CPU, fp16 on MPS) and is a no-op for fp32, so callers never branch on the device themselves.
"""

from __future__ import annotations

import contextlib
from typing import Literal

import torch

from .errors import SegflowError

DeviceName = Literal["auto", "cuda", "mps", "cpu"]
Precision = Literal["fp32", "fp16", "bf16"]
DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("fp32", "fp16", "bf16")
_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """Map ``auto|cuda|mps|cpu`` (or ``cuda:N``) to a usable ``torch.device``."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SegflowError(f"--device {name}: no CUDA GPU is visible; use --device auto or cpu")
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise SegflowError("--device mps: Metal is not available here; use --device auto or cpu")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise SegflowError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")


def check_precision(precision: str, device: torch.device) -> str:
    """Validate a precision name for a device; fp16 on CPU is refused (slow and lossy there)."""
    if precision not in PRECISIONS:
        raise SegflowError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type == "cpu":
        raise SegflowError("--precision fp16 is not supported on the CPU; use bf16 or fp32")
    if precision == "bf16" and device.type == "mps":
        raise SegflowError("--precision bf16 is not supported on MPS; use fp16 or fp32")
    return precision


def autocast(device: torch.device, precision: str = "fp32"):
    """Autocast context for ``precision`` on ``device``; a no-op for fp32."""
    check_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=_DTYPES[precision])


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
