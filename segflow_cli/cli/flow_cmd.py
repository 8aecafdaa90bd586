"""`segflow flow A B`: optical flow between two images with the joint network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import app
from .common import (
    DEFAULT_WEIGHTS, FLOW_METHODS_HELP, DeviceOpt, PrecisionOpt, ThreadsOpt, WeightsOpt, check_max_size, guard, setup_threads,
)


@app.command("flow")
@guard
def flow_command(
    image1: Annotated[Path, typer.Argument(help="first image (flow goes from it)")],
    image2: Annotated[Path, typer.Argument(help="second image")],
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out"),
    formats: Annotated[Optional[list[str]], typer.Option("--format", help="also write kitti (16-bit png) and/or npy")] = None,
    method: Annotated[str, typer.Option("--method", help=FLOW_METHODS_HELP)] = "segflow",
    max_size: Annotated[int, typer.Option("--max-size", help="cap on the internal resolution (longer side), at least 32")] = 1024,
    weights: WeightsOpt = DEFAULT_WEIGHTS,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    threads: ThreadsOpt = None,
) -> None:
    """Flow from IMAGE1 to IMAGE2: writes OUT/flow.flo and OUT/flow.png (colour wheel)."""
    check_max_size(max_size)
    setup_threads(threads)
    from ..errors import SegflowError
    from ..io import flow_to_color, read_image, write_flo, write_image, write_kitti_flow

    extra = set(formats or [])
    if extra - {"kitti", "npy"}:
        raise SegflowError(f"--format {', '.join(sorted(extra - {'kitti', 'npy'}))}: choose kitti and/or npy")
    a, b = read_image(image1), read_image(image2)
    if a.shape != b.shape:
        raise SegflowError(f"the images differ in size ({a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}); give frames of one video")
    from ..inference.methods import get_flow_method

    flow = get_flow_method(method, weights=weights, device=device, precision=precision, max_size=max_size)(a, b)
    out.mkdir(parents=True, exist_ok=True)
    write_flo(out / "flow.flo", flow)
    write_image(out / "flow.png", flow_to_color(flow))
    if "kitti" in extra:
        write_kitti_flow(out / "flow_kitti.png", flow)
    if "npy" in extra:
        import numpy as np

        tmp = out / "flow.npy.tmp.npy"
        np.save(tmp, flow)
        tmp.replace(out / "flow.npy")
    typer.echo(f"flow {a.shape[1]}x{a.shape[0]} -> {out}/flow.flo, {out}/flow.png")
