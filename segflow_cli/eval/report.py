"""Benchmark output files: the official toolkit's CSVs, a JSON record of the run, and a PNG plot.

Every file is written through a temporary file and renamed, so an interrupted run never leaves a
half-written result; each run rewrites all of them (nothing is reused from an earlier run).
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..io._files import atomic_path, write_bytes_atomic

DAVIS_GLOBAL_COLUMNS = ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay", "T-Mean"]


def run_info(*, device: str | None = None, precision: str | None = None, weights: str | None = None,
             command: str | None = None) -> dict:
    """What produced a result: command, versions, device, precision and the weights' sha256 (if a network ran)."""
    import torch

    info = {
        "command": command or " ".join(["segflow", *sys.argv[1:]]),
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "segflow": __version__, "python": platform.python_version(), "torch": torch.__version__,
        "platform": platform.platform(), "device": device, "precision": precision,
    }
    if weights is not None:
        from ..weights import resolve, sha256_of

        file, _ = resolve(weights)
        info.update(weights=weights, weights_file=str(file), weights_sha256=sha256_of(file))
    return info


def _csv_text(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([f"{v:.6f}" if isinstance(v, float) else v for v in r])
    return buf.getvalue().encode()


def _json_safe(obj):
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _json_safe(obj.tolist())
    return obj


def write_json(path: Path, data: dict) -> None:
    write_bytes_atomic(path, (json.dumps(_json_safe(data), indent=1) + "\n").encode())


def write_davis_outputs(out: Path, objects, summary: dict, info: dict, *, fps: dict[str, float] | None = None,
                        groups: dict[str, dict] | None = None) -> list[Path]:
    """global_results.csv, per-sequence_results.csv (the toolkit's names and columns, plus T-Mean),
    results.json (run info, summary, the named groups' figures, per-frame J/F/T) and davis.png. Returns
    the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / "global_results.csv",
                       _csv_text(DAVIS_GLOBAL_COLUMNS, [[summary[c] for c in DAVIS_GLOBAL_COLUMNS]]))
    rows = [[o.name, float(o.J.mean()), float(o.F.mean()), o.t_mean] for o in objects]
    write_bytes_atomic(out / "per-sequence_results.csv", _csv_text(["Sequence", "J-Mean", "F-Mean", "T-Mean"], rows))
    per = {o.name: {"sequence": o.sequence, "object": o.object_id, "eval_t": o.eval_t, "J_per_frame": o.J,
                    "F_per_frame": o.F, "T_per_pair": o.T, "T_mean": o.t_mean} for o in objects}
    write_json(out / "results.json", {"run": info, "global": summary, "groups": groups or {}, "frames_per_second": fps or {},
                                      "protocol": "semi-supervised: frames 1..N-2; T on predicted pairs (1,2)..(N-3,N-2), "
                                                  "x5 as DAVIS 2016; T-Mean over eval_t sequences",
                                      "objects": per})
    plot_davis(out / "davis.png", objects)
    return [out / n for n in ("global_results.csv", "per-sequence_results.csv", "results.json", "davis.png")]


def plot_davis(path: Path, objects) -> None:
    """Two panels: per-sequence J&F bars and J per frame for every object."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(6.0, 0.5 * len(objects) + 2), 7))
    names = [o.name for o in objects]
    jf = [(o.J.mean() + o.F.mean()) / 2 for o in objects]
    ax1.bar(range(len(names)), jf, color="tab:blue")
    ax1.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("J&F")
    for o in objects:
        ax2.plot(range(1, len(o.J) + 1), o.J, lw=1, label=o.name)
    ax2.set_xlabel("frame")
    ax2.set_ylabel("J")
    ax2.set_ylim(0, 1)
    if len(objects) <= 12:
        ax2.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def write_flow_outputs(out: Path, results, info: dict, *, dataset: str) -> list[Path]:
    """flow_results.csv (one row per method), flow_groups.csv (per group of pairs and method),
    flow_pairs.csv (per pair), results.json and flow.png."""
    out.mkdir(parents=True, exist_ok=True)
    cols = ["EPE", "1px", "3px", "5px", "Fl-all", "ms/pair"]
    write_bytes_atomic(out / "flow_results.csv",
                       _csv_text(["Method", *cols], [[r.method, *(r.summary[c] for c in cols)] for r in results]))
    groups = {r.method: r.group_summaries(dataset) for r in results}
    write_bytes_atomic(out / "flow_groups.csv", _csv_text(
        ["Group", "Method", "pairs", *cols],
        [[g, m, s["pairs"], *(s[c] for c in cols)] for m, per in groups.items() for g, s in per.items()]))
    rows = [[r.method, p, e.epe, e.acc1, e.acc3, e.acc5, e.fl_all, 1000 * s]
            for r in results for p, e, s in zip(r.pairs, r.errors, r.seconds)]
    write_bytes_atomic(out / "flow_pairs.csv", _csv_text(["Method", "Pair", *cols], rows))
    write_json(out / "results.json", {"run": info, "dataset": dataset,
                                      "summary": {r.method: r.summary for r in results},
                                      "groups": groups,
                                      "pairs": {r.method: {p: {"EPE": e.epe, "1px": e.acc1, "3px": e.acc3, "5px": e.acc5,
                                                               "Fl-all": e.fl_all, "valid_pixels": e.n_valid, "ms": 1000 * s}
                                                           for p, e, s in zip(r.pairs, r.errors, r.seconds)}
                                                for r in results}})
    plot_flow(out / "flow.png", results)
    return [out / n for n in ("flow_results.csv", "flow_groups.csv", "flow_pairs.csv", "results.json", "flow.png")]


def plot_flow(path: Path, results) -> None:
    """Grouped bars: EPE per pair for every method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = results[0].pairs
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(pairs) + 2), 4))
    width = 0.8 / len(results)
    for k, r in enumerate(results):
        ax.bar([i + k * width for i in range(len(pairs))], [e.epe for e in r.errors], width, label=r.method)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(pairs))], pairs, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("EPE (px)")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
