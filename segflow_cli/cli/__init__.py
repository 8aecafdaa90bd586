"""The `segflow` command line. Each subcommand lives in its own module and imports torch lazily
inside its function body, so `segflow --help` and `--version` answer without loading torch."""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting steal the cores another job needs, but passive waiting
# costs a third of the idle speed (measured 2026-12-01, 2 cores: flow 182 ms active vs 270 ms
# passive idle; with one core busy, 2 active threads 456 ms, 1 thread 275 ms). So the threads
# policy (policy.pick_threads) gives torch only the cores free now and the wait policy stays
# OpenMP's default; OMP_WAIT_POLICY=PASSIVE set by the user is respected.

import warnings  # noqa: E402
from typing import Annotated, Optional  # noqa: E402

import typer  # noqa: E402

from .. import __version__  # noqa: E402


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings print as `warning: message`, without the Python file and source line."""
    return f"warning: {message}\n"


def use_one_line_warnings() -> None:
    warnings.formatwarning = _one_line_warning


app = typer.Typer(
    name="segflow",
    help="Joint video object segmentation and optical flow (SegFlow, ICCV 2017).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"segflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Joint video object segmentation and optical flow (SegFlow, ICCV 2017)."""
    use_one_line_warnings()


# Registration order is the order `--help` lists them in.
from . import segment_cmd, flow_cmd, train_cmd, benchmark_cmd, data_cmd, info_cmd  # noqa: E402,F401


def main() -> None:
    use_one_line_warnings()
    app()
