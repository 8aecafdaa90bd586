"""One device, precision and threads policy for every command (train, segment, flow, benchmark).

``resolve_device("auto")`` picks cuda, then mps, then cpu. ``autocast(device, precision)`` returns a
context that enables mixed precision only where the device runs it well (fp16/bf16 on CUDA, fp16
on MPS) and is a no-op for fp32, so callers never branch on the device themselves. bf16 on a CPU
runs as fp32 after a one-line warning (measured 8x slower than fp32 there, AVX512-BF16 included;
the flow network still ran slower in bf16 on a CPU with AMX tiles, stop 26); fp16 on a CPU is
refused. The exception, decided by the runner for the networks it loads: where ``cpu_native_bf16()``
the frozen memory key encoder, the trained trunk and the flow branch's convolutions run as bf16 copies
that hand fp32 features on (1.5-3.5x faster there; flows, masks and their metrics level, stop 31).

``keep_freed_memory()`` keeps glibc's malloc from handing large freed blocks back to the kernel
between frames (page faults cost 10-15 % of a frame); the CLI calls it once per command.

``configure_threads(threads)`` sets torch's intra-op threads: ``threads`` if given, otherwise the
cores that are free now (the CPUs this process may use minus the load other processes put on
them), so a busy machine does not get threads that spin against each other. OpenMP's wait policy
is left alone (passive waiting cost a third of the idle speed here; a user may still set it).

Importing this module does not import torch (the CLI's --help and `info` stay fast).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from typing import TYPE_CHECKING, Literal

from .errors import ArgumentError, SegflowError

if TYPE_CHECKING:
    import torch

DeviceName = Literal["auto", "cuda", "mps", "cpu"]
Precision = Literal["fp32", "fp16", "bf16"]
DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("fp32", "fp16", "bf16")
MIN_MAX_SIZE = 32  # the network stride: the smallest internal size that still has one feature cell


class PrecisionWarning(UserWarning):
    """The precision asked for does not pay off on this device; another one runs instead."""


def check_max_size(max_size: int) -> int:
    """``max_size`` (cap on the internal resolution, longer side) must be at least the network stride."""
    if int(max_size) < MIN_MAX_SIZE:
        raise ArgumentError("max_size", max_size, f"below {MIN_MAX_SIZE}, the network stride (the smallest "
                                           "internal size)", fix=f"use {MIN_MAX_SIZE} or more (default 864)")
    return int(max_size)


# --------------------------------------------------------------------------------------- threads


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _own_load() -> float:
    """Roughly how much of the 1-minute load average is this process: its average CPU use over its
    lifetime, weighted as the load average (an exponential average over a minute) has seen it so far."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        started = int(fields[19]) / ticks  # field 22 (starttime), seconds after boot
        with open("/proc/uptime") as f:
            age = float(f.read().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return 1.0
    if age <= 0:
        return 1.0
    rate = min(sum(os.times()[:2]) / age, float(_affinity()))
    return rate * (1.0 - math.exp(-age / 60.0))


SAMPLE_SECONDS = 0.25  # how long free_cores watches the CPUs (once per command)


_FLAGS: list[set[str]] = []


def cpu_flags() -> set[str]:
    """This CPU's feature flags from /proc/cpuinfo, read once (empty where there is none)."""
    if not _FLAGS:
        try:
            with open("/proc/cpuinfo") as f:
                line = next((line for line in f if line.startswith("flags")), "")
        except OSError:
            line = ""
        _FLAGS.append(set(line.partition(":")[2].split()))
    return _FLAGS[0]


NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs that multiply bf16 natively


def cpu_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively: in matrix tiles (Intel AMX, ``amx_bf16``) or in
    AVX-512 dot products (``avx512_bf16``, e.g. AMD Zen 4). There the frozen key encoder's bf16 copy
    runs 1.5x (AMX, stop 26) to 2x (Zen 4: 76 -> 37 ms at 864x480, stop 31) faster than fp32 and the
    memory readout ranks its candidates with bf16 products (3x faster than fp32 on Zen 4). Not a
    licence for bf16 everywhere: the whole flow network under bf16 autocast ran slower on both kinds
    (stops 18 and 26), so ``--precision bf16`` on a CPU still runs fp32."""
    return bool(set(NATIVE_BF16_FLAGS) & cpu_flags())


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs together since boot, from /proc/stat (None off Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _busy_elsewhere(seconds: float = SAMPLE_SECONDS) -> float | None:
    """CPUs kept busy by other processes right now: the machine's busy time over a short sample less
    this process's own, in CPUs (None where /proc/stat is missing). The load average answers for
    the last minute: right after another job ends it still reports it (a run then picked 1 thread
    and ran 1.3-1.6x slower), and a job that just started is not in it yet."""
    a, own_a = _cpu_ticks(), sum(os.times()[:2])
    if a is None:
        return None
    time.sleep(seconds)
    b, own_b = _cpu_ticks(), sum(os.times()[:2])
    if b is None or b[1] <= a[1]:
        return None
    total = os.cpu_count() or _affinity()
    busy = (b[0] - a[0]) / (b[1] - a[1]) * total  # CPUs busy on the whole machine
    return max(0.0, busy - (own_b - own_a) / seconds)


def free_cores() -> int:
    """Cores this process may use (``os.sched_getaffinity``) minus the CPUs other processes keep busy
    (sampled now from /proc/stat, else the 1-minute load average less this process's own share),
    rounded; at least 1."""
    cores = _affinity()
    total = os.cpu_count() or cores
    sampled = _busy_elsewhere()
    if sampled is not None:
        others = sampled
    else:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return cores
        others = max(0.0, load - _own_load())
    # Another job's load spreads over the whole machine; charge this process's CPUs their share.
    busy = others * cores / total if total > cores else others
    return max(1, min(cores, cores - round(busy)))


def pick_threads(threads: int | None = None) -> int:
    """The intra-op thread count to use: ``threads`` if > 0, else :func:`free_cores` (capped by
    ``OMP_NUM_THREADS`` when the user set it)."""
    if threads is not None:
        if int(threads) < 0:
            raise ArgumentError("threads", threads, "a negative thread count", fix="give a thread count, or 0 for automatic")
        if int(threads) > 0:
            return int(threads)
    n = free_cores()
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        n = min(n, int(env))
    return max(1, n)


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (see :func:`pick_threads`) and return the number set."""
    import torch

    n = pick_threads(threads)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


# glibc's malloc returns every large freed block to the kernel (blocks above the mmap threshold are
# unmapped; a heap top above the trim threshold is trimmed), so the next frame's tensors of the same
# size start on fresh pages and pay a page fault per 4 KiB: an out-of-place clamp over one 864x480
# activation took 12 ms against 2 ms with the memory kept (the `propagate` session 171 -> 153 ms a frame,
# the flow 372 -> 314 ms, benchmarks/RESULTS.md stop 27). Per-frame work allocates the same sizes every
# frame, so keeping freed memory for reuse costs no more than the peak it already reached.
_MMAP_THRESHOLD = 1 << 30  # blocks up to 1 GiB come from the heap, which is reused ...
_TRIM_THRESHOLD = (1 << 31) - 1  # ... and not trimmed below 2 GiB of free top
_KEPT: list[bool] = []


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse (see above); once per process. Returns
    whether it applied (False off glibc, e.g. macOS or musl, where nothing changes). The CLI calls
    it; a library user may too. RSS then stays at its peak instead of shrinking between frames."""
    if not _KEPT:
        ok = False
        try:
            import ctypes
            import ctypes.util

            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = getattr(libc, "mallopt", None)
            if mallopt is not None and os.uname().sysname == "Linux":
                m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
                ok = bool(mallopt(m_mmap_threshold, ctypes.c_int(_MMAP_THRESHOLD))) and bool(
                    mallopt(m_trim_threshold, ctypes.c_int(_TRIM_THRESHOLD)))
        except (OSError, AttributeError):
            ok = False
        _KEPT.append(ok)
    return _KEPT[0]


# --------------------------------------------------------------------------------- device, precision


def _mps_available() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """Map ``auto|cuda|mps|cpu`` (or ``cuda:N``) to a usable ``torch.device``."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ArgumentError("device", name, "no CUDA GPU is visible", fix="use auto or cpu")
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise ArgumentError("device", name, "Metal is not available here", fix="use auto or cpu")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise ArgumentError("device", name, "unknown device", fix=f"choose one of {', '.join(DEVICES)}")


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, PrecisionWarning, stacklevel=3)


def check_precision(precision: str, device: torch.device) -> str:
    """Validate a precision for a device and return the one that runs: fp16 on CPU is refused
    (slow and lossy there); bf16 on CPU warns once and runs fp32 (8x slower than fp32 there)."""
    if precision not in PRECISIONS:
        raise ArgumentError("precision", precision, "unknown precision", fix=f"choose one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type == "cpu":
        raise ArgumentError("precision", precision, "not supported on the CPU", fix="use fp32")
    if precision == "bf16" and device.type == "mps":
        raise ArgumentError("precision", precision, "not supported on MPS", fix="use fp16 or fp32")
    if precision == "bf16" and device.type == "cpu":
        _warn_once("bf16 on the CPU runs about 8x slower than fp32 here; running fp32 instead")
        return "fp32"
    return precision


def autocast(device: torch.device, precision: str = "fp32"):
    """Autocast context for ``precision`` on ``device`` (as :func:`check_precision` resolves it);
    a no-op for fp32."""
    precision = check_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=device.type, dtype={"fp16": torch.float16, "bf16": torch.bfloat16}[precision])


def describe_device(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
