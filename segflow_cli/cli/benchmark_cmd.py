"""`segflow benchmark davis|flow|speed`: accuracy on DAVIS (J, F, T as the official toolkits), flow
accuracy on standard layouts, and throughput. Thin wrappers over segflow_cli.eval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..inference.methods import (EDGE_EPS, EDGE_RADIUS, FLOW_METHODS, MASK_THRESHOLD, MEMORY_EVERY, MEMORY_FRAMES, MEMORY_NEAR, SEGMENT_DEFAULT,
                                 SEGMENT_MAX_SIZE)
from . import app
from .common import (
    DEFAULT_WEIGHTS, FLOW_METHODS_HELP, DeviceOpt, EdgeEpsOpt, EdgeRadiusOpt, MemoryEveryOpt, MemoryFramesOpt, MemoryNearOpt,
    PrecisionOpt, SegmentMethodOpt, ThreadsOpt, ThresholdOpt, WeightsOpt, check_max_size, guard,
    setup_threads, stdout_console,
)

bench = typer.Typer(help="Accuracy and speed benchmarks (DAVIS J/F/T, flow EPE, frames/s).", no_args_is_help=True)
app.add_typer(bench, name="benchmark")


def _command(ctx: typer.Context) -> str:
    """The command line as given (options that differ from their defaults), for the JSON record."""
    parts = ["segflow", *ctx.command_path.split()[1:]]
    for p in ctx.command.params:
        v = ctx.params.get(p.name)
        if v is None or v is False or v == p.default:
            continue
        for item in v if isinstance(v, (list, tuple)) else [v]:
            parts.append(p.opts[0] if item is True else f"{p.opts[0]} {item}")
    return " ".join(parts)


@bench.command("davis")
@guard
def davis_command(
    ctx: typer.Context,
    root: Annotated[Path, typer.Option("--root", help="DAVIS folder (JPEGImages/, Annotations/, ImageSets/)")],
    year: Annotated[str, typer.Option("--year", help="2016 (one object, binarised) or 2017 (object ids)")] = "2016",
    split: Annotated[str, typer.Option("--split", help="val, train or all (from ImageSets/<year>/)")] = "val",
    sequences: Annotated[Optional[str], typer.Option("--sequences", help="comma-separated subset, e.g. blackswan,cows")] = None,
    method: SegmentMethodOpt = SEGMENT_DEFAULT,
    memory_frames: MemoryFramesOpt = MEMORY_FRAMES,
    memory_every: MemoryEveryOpt = MEMORY_EVERY,
    memory_near: MemoryNearOpt = MEMORY_NEAR,
    no_memory: Annotated[bool, typer.Option("--no-memory", help="the network without its space-time memory")] = False,
    finetune_steps: Annotated[int, typer.Option("--finetune-steps", help="online fine-tuning steps on the first frame")] = 0,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="score existing masks DIR/<seq>/NNNNN.png (any method's) instead of running one")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="write CSVs, results.json, davis.png (and the masks when a method runs)")] = None,
    group: Annotated[Optional[list[str]], typer.Option("--group", help="NAME=seq1,seq2: also the global figures over these sequences (repeatable), e.g. a tuning and a held-out set")] = None,
    no_t: Annotated[bool, typer.Option("--no-t", help="skip temporal stability T (the slowest metric)")] = False,
    max_size: Annotated[int, typer.Option("--max-size", help="cap on the internal resolution (longer side); 512 is faster")] = SEGMENT_MAX_SIZE,
    edge_radius: EdgeRadiusOpt = EDGE_RADIUS,
    edge_eps: EdgeEpsOpt = EDGE_EPS,
    threshold: ThresholdOpt = MASK_THRESHOLD,
    weights: WeightsOpt = DEFAULT_WEIGHTS,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    threads: ThreadsOpt = None,
) -> None:
    """J (region IoU), F (boundary F), T (temporal stability) on DAVIS, semi-supervised protocol."""
    check_max_size(max_size)
    setup_threads(threads)
    from rich.console import Console

    from ..eval.davis import evaluate_folder, group_summaries, parse_groups, sequence_names, summarize
    from ..eval.report import run_info, write_davis_outputs
    from ..eval.tables import davis_table

    console = Console(stderr=True)
    names = sequence_names(root, year=year, split=split,
                           sequences=[s.strip() for s in sequences.split(",") if s.strip()] if sequences else None)
    groups = parse_groups(group or [], names)
    fps: dict[str, float] = {}
    if predictions is not None:
        if not predictions.is_dir():
            from ..errors import SegflowError

            raise SegflowError(f"--predictions {predictions} is not a folder; give DIR with DIR/<sequence>/00000.png ...")
        objects = evaluate_folder(root, predictions, year=year, sequences=names, with_t=not no_t,
                                  on_sequence=lambda s: console.print(f"scored {s}"))
        info = run_info(command=_command(ctx), device=None, precision=None)
        info["predictions"] = str(predictions)
        title = f"DAVIS {year} {split}: {predictions}"
    else:
        from ..eval.davis_run import run_sequences
        from ..inference import create_session

        session = create_session(method=method, weights=weights, device=device, precision=precision,
                                 max_size=max_size, finetune_steps=finetune_steps, compute_flow=False,
                                 memory=not no_memory, memory_frames=memory_frames, memory_every=memory_every,
                                 memory_near=memory_near, edge_radius=edge_radius,
                                 edge_eps=edge_eps, threshold=threshold)
        objects, fps = run_sequences(root, names, session, year=year, with_t=not no_t,
                                     predictions_out=out / "predictions" if out else None,
                                     on_sequence=lambda s, r: console.print(f"{s}: {r:.1f} frames/s"))
        info = run_info(command=_command(ctx), device=str(session.device), precision=precision,
                        weights=weights if method != "dis-warp" else None)
        info.update(method=method, finetune_steps=finetune_steps, max_size=max_size,
                    memory=session.use_memory, memory_frames=memory_frames if session.use_memory else 0,
                    memory_every=memory_every if session.use_memory else None,
                    memory_near=memory_near if session.use_memory else None,
                    edge_radius=edge_radius if session.use_memory else 0,
                    edge_eps=edge_eps if session.use_memory and edge_radius else None, threshold=threshold)
        title = f"DAVIS {year} {split}: {method}"
    summary = summarize(objects)
    by_group = group_summaries(objects, groups)
    stdout_console().print(davis_table(objects, summary, fps=fps, title=title, groups=by_group))
    if out is not None:
        written = write_davis_outputs(out, objects, summary, info, fps=fps, groups=by_group)
        console.print("wrote " + ", ".join(str(p) for p in written))


def _default_flow_methods(weights: str, tvl1: bool, console) -> list[str]:
    """Every method that can run here: segflow when its weights resolve, the OpenCV ones, tvl1 if present."""
    from ..errors import SegflowError
    from ..weights import resolve

    names = list(FLOW_METHODS)
    try:
        resolve(weights)
    except SegflowError as exc:
        names.remove("segflow")
        console.print(f"segflow skipped: {exc}")
    if not tvl1:
        names.remove("tvl1")
        console.print("tvl1 skipped: this OpenCV has no contrib module (cv2.optflow)")
    return names


@bench.command("flow")
@guard
def flow_command(
    ctx: typer.Context,
    root: Annotated[Path, typer.Option("--root", help="dataset folder")],
    dataset: Annotated[str, typer.Option("--dataset", help="middlebury, sintel, chairs (its val split), kitti, hd1k or "
                                                           "folder (<root>/[<group>/]<pair>/frame1.png, frame2.png, flow.flo); "
                                                           "the layouts: segflow_cli/data/layouts.py")] = "folder",
    methods: Annotated[Optional[list[str]], typer.Option("--method", help=f"{FLOW_METHODS_HELP}; repeat for several (default: all available)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="write flow_results.csv, flow_groups.csv, flow_pairs.csv, results.json, flow.png")] = None,
    max_size: Annotated[int, typer.Option("--max-size", help="cap on the network's internal resolution")] = 1024,
    weights: WeightsOpt = DEFAULT_WEIGHTS,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    threads: ThreadsOpt = None,
) -> None:
    """EPE, 1/3/5 px accuracy and Fl-all of flow methods on the same pairs with the same metrics."""
    check_max_size(max_size)
    setup_threads(threads)
    from rich.console import Console

    from ..eval.flow_bench import pair_group, run_flow_benchmark
    from ..data.layouts import list_pairs
    from ..classical import has_tvl1
    from ..inference.methods import get_flow_method
    from ..eval.report import run_info, write_flow_outputs
    from ..eval.tables import flow_group_table, flow_table

    console = Console(stderr=True)
    pairs = list_pairs(dataset, root)
    names = list(dict.fromkeys(methods or _default_flow_methods(weights, has_tvl1(), console)))
    fns = {n: get_flow_method(n, weights=weights, device=device, precision=precision, max_size=max_size) for n in names}
    results = run_flow_benchmark(pairs, fns)
    stdout_console().print(flow_table(results, title=f"{dataset}: {len(pairs)} pairs ({root})"))
    if len({pair_group(p.name, dataset) for p in pairs}) > 1:
        stdout_console().print(flow_group_table(results, dataset=dataset, title="Per group"))
    if out is not None:
        info = run_info(command=_command(ctx), device=device if "segflow" in names else "cpu",
                        precision=precision if "segflow" in names else None,
                        weights=weights if "segflow" in names else None)
        written = write_flow_outputs(out, results, info, dataset=dataset)
        console.print("wrote " + ", ".join(str(p) for p in written))


@bench.command("speed")
@guard
def speed_command(
    ctx: typer.Context,
    size: Annotated[str, typer.Option("--size", help="frame size WIDTHxHEIGHT")] = "854x480",
    frames: Annotated[int, typer.Option("--frames", help="frames per timed run (after a warm-up)")] = 30,
    max_size: Annotated[int, typer.Option("--max-size", help="cap on the network's internal resolution")] = SEGMENT_MAX_SIZE,
    random_weights: Annotated[bool, typer.Option("--random-weights", help="time an untrained segflow-lite "
                                                 "(speed does not depend on weight values; no weights needed)")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="write speed.json")] = None,
    weights: WeightsOpt = DEFAULT_WEIGHTS,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    threads: ThreadsOpt = None,
) -> None:
    """Frames/s and peak memory of flow and segmentation, next to OpenCV DIS on the same frames."""
    check_max_size(max_size)
    setup_threads(threads)
    from rich.console import Console

    from ..eval.report import run_info, write_json
    from ..eval.speed import measure_speed
    from ..eval.tables import speed_table
    from .common import parse_size

    w, h = parse_size(size, "--size")
    model = None
    if random_weights:
        from ..models import segflow_lite

        model = segflow_lite(trunk_pretrained=False)
    rows = measure_speed(width=w, height=h, frames=frames, device=device, precision=precision, weights=weights,
                         max_size=max_size, model=model)
    stdout_console().print(speed_table(rows, title=f"speed at {w}x{h}, {frames} frames (internal max {max_size})"))
    if out is not None:
        info = run_info(command=_command(ctx), device=rows[0]["device"], precision=precision,
                        weights=None if random_weights else weights)
        info["weights"] = "random init" if random_weights else weights
        write_json(out / "speed.json", {"run": info, "size": [w, h], "frames": frames, "rows": rows})
        Console(stderr=True).print(f"wrote {out / 'speed.json'}")
