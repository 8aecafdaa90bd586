"""Shared CLI plumbing: the error guard and the option types every command reuses.

Nothing here imports torch: `segflow --help` must stay fast.
"""

from __future__ import annotations

import functools
import sys
from typing import Annotated, Callable, Optional, TypeVar

import typer

from ..errors import SegflowError
from ..inference.methods import (EDGE_RADIUS, FLOW_HELP, FLOW_METHODS, SEGMENT_DEFAULT, SEGMENT_HELP, SEGMENT_METHODS,
                                 describe)

F = TypeVar("F", bound=Callable)

DeviceOpt = Annotated[
    str, typer.Option("--device", help="auto|cuda|mps|cpu (auto: cuda, then mps, then cpu)")
]
PrecisionOpt = Annotated[
    str, typer.Option("--precision", help="fp32|fp16|bf16 (autocast only where the device supports it)")
]
ThreadsOpt = Annotated[
    Optional[int],
    typer.Option("--threads", help="CPU threads for torch (0 or unset: the cores free now, from the CPUs this "
                                   "process may use and the load average)", show_default=False),
]
MaxSizeOpt = Annotated[int, typer.Option("--max-size", help="cap on the internal resolution (longer side), at least 32")]
WeightsOpt = Annotated[
    str,
    typer.Option("--weights", help="registry name (see `segflow info`) or path to a .safetensors file"),
]
DEFAULT_WEIGHTS = "segflow-lite"
# --method of segment / benchmark davis and of flow / benchmark flow: the names and their help come
# from the one method registry (inference/methods.py), which the session and get_flow_method check.
SegmentMethodOpt = Annotated[str, typer.Option("--method", help=describe(SEGMENT_METHODS, SEGMENT_HELP, default=SEGMENT_DEFAULT))]
EdgeRadiusOpt = Annotated[int, typer.Option("--edge-radius", min=0, help="propagate and segflow: snap the mask edges to the frame's colour edges (guided filter of about this radius in internal pixels, fitted on the 8x smaller key grid, so it moves in steps of 8: 1-11 one cell, 12-20 two; 0: off, the plain upsampled readout)")]
MemoryFramesOpt = Annotated[int, typer.Option("--memory-frames", min=0, help="recent frames the memory keeps besides the annotated one (0: only the annotated frame)")]
MemoryEveryOpt = Annotated[int, typer.Option("--memory-every", min=1, help="the recent frames older than the --memory-near last ones are kept one in this many (reaches further back at the same cost)")]
MemoryNearOpt = Annotated[int, typer.Option("--memory-near", min=0, help="how many of the last frames the memory keeps whatever --memory-every (at most --memory-frames)")]
ThresholdOpt = Annotated[float, typer.Option("--threshold", help="a pixel shows an object where its probability against the background's is above this (0.5: the plain argmax; lower shows more of each object: the default suits real footage, where the readout erodes objects)")]
EdgeEpsOpt = Annotated[float, typer.Option("--edge-eps", min=1e-6, help="the edge refinement's regulariser (a colour variance): larger follows the frame's edges less and keeps contours steadier in time (1e-2: higher T stability, a little lower J on validation)")]
FLOW_METHODS_HELP = describe(FLOW_METHODS, FLOW_HELP)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error and exit non-zero (no traceback)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def guard(fn: F) -> F:
    """Turn SegflowError (and a few OS errors users cause) into one-line errors; Ctrl-C exits 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SegflowError as exc:
            # Library messages name Python arguments; on the command line, name the flags instead.
            fail(exc.for_cli())
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            fail(f"{exc.strerror or exc}: {exc.filename}" if getattr(exc, "filename", None) else str(exc))
        except KeyboardInterrupt as exc:  # a library's interruption may say what it left behind
            typer.echo(str(exc) or "interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def parse_size(text: str, option: str) -> tuple[int, int]:
    """'WxH' -> (W, H) with a one-line error naming the option."""
    from ..errors import SegflowError

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SegflowError(f"{option} {text!r}: expected WIDTHxHEIGHT, e.g. 384x320") from None
    if w <= 0 or h <= 0:
        raise SegflowError(f"{option} {text!r}: width and height must be positive")
    return w, h


def setup_threads(threads: Optional[int]) -> int:
    """Apply the threads policy (``--threads``; 0 or None: the cores free now) and the allocator's
    (policy.keep_freed_memory); returns the thread count."""
    from ..policy import configure_threads, keep_freed_memory

    keep_freed_memory()
    return configure_threads(threads)


def check_max_size(value: int) -> int:
    """``--max-size`` below the network stride gives empty results; refuse it in one line."""
    from ..policy import check_max_size as check

    return check(value)


def stdout_console():
    """A rich Console for tables on stdout: the terminal's width in a terminal; piped or redirected,
    no width to respect, so tables are never cut at 80 columns ("segfl…") and carry no colour codes."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=1000, no_color=True, highlight=False)
