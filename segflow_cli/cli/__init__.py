"""The `segflow` command line. Each subcommand lives in its own module and imports torch lazily
inside its function body, so `segflow --help` and `--version` answer without loading torch."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import __version__

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


# Registration order is the order `--help` lists them in.
from . import segment_cmd, flow_cmd, train_cmd, benchmark_cmd, data_cmd, info_cmd  # noqa: E402,F401


def main() -> None:
    app()
