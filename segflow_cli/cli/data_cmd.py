"""`segflow data preview`: write synthetic training scenes as inspectable files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import app
from .common import guard, parse_size

data_app = typer.Typer(help="The procedural training-data engine (layered synthetic scenes).", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("preview")
@guard
def preview_command(
    out: Annotated[Path, typer.Option("--out", help="output folder (one NNNNN/ folder per scene)")],
    count: Annotated[int, typer.Option("--count", help="number of scenes")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="stream seed (>= 0); scene i is (seed, i)")] = 0,
    frames: Annotated[int, typer.Option("--frames", help="frames per scene (2 for flow, up to 8 for video)")] = 2,
    size: Annotated[str, typer.Option("--size", help="frame size WIDTHxHEIGHT")] = "384x320",
    textures: Annotated[Optional[list[Path]], typer.Option("--textures", help="folder of your own images to use as textures (repeatable)")] = None,
    tracking: Annotated[Optional[bool], typer.Option("--tracking/--no-tracking", help="keep one object in view over all frames (default: on when --frames > 2)")] = None,
) -> None:
    """Write COUNT scenes: frame_XX.png, flow_XX.flo (+ .png view), valid_XX.png, mask_XX.png (DAVIS palette)."""
    from ..data import SceneConfig
    from ..data.preview import write_preview
    from ..errors import SegflowError

    if count < 1:
        raise SegflowError(f"--count {count}: write at least one scene")
    if seed < 0:
        raise SegflowError(f"--seed {seed}: use a non-negative integer")
    if frames < 2:
        raise SegflowError(f"--frames {frames}: a scene needs at least 2 frames")
    cfg = SceneConfig(size=parse_size(size, "--size"), frames=frames,
                      photo_dirs=tuple(str(t) for t in textures or ()),
                      tracking=frames > 2 if tracking is None else tracking)
    folders = write_preview(out, cfg, count=count, seed=seed)
    typer.echo(f"wrote {len(folders)} scenes ({cfg.size[0]}x{cfg.size[1]}, {frames} frames) to {out}")
