"""Rich tables for the benchmark commands (figures as published: fractions x 100)."""

from __future__ import annotations

import math

from rich.table import Table


def _pct(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


def davis_table(objects, summary: dict, *, fps: dict[str, float] | None = None, title: str = "DAVIS",
                groups: dict[str, dict] | None = None) -> Table:
    """One row per object (J&F, J M/R/D, F M/R/D, T, frames/s), a row with the global figures and one per
    named group of sequences (eval.davis.group_summaries). T marked * is scored but left out of the mean
    (sequence not flagged eval_t by DAVIS 2016)."""
    from .davis_metrics import db_statistics
    from .report import DAVIS_GLOBAL_COLUMNS  # the toolkit's global columns, in its order

    t = Table(title=title)
    for c in ("Sequence", "J&F", "J-M", "J-R", "J-D", "F-M", "F-R", "F-D", "T", "frames/s"):
        t.add_column(c, justify="left" if c == "Sequence" else "right")
    fps = fps or {}
    for o in objects:
        jm, jr, jd = db_statistics(o.J)
        fm, fr, fd = db_statistics(o.F)
        tt = _pct(o.t_mean) + ("" if o.eval_t or o.T is None else "*")
        rate = fps.get(o.sequence)
        t.add_row(o.name, _pct((jm + fm) / 2), _pct(jm), _pct(jr), _pct(jd), _pct(fm), _pct(fr), _pct(fd), tt,
                  "-" if rate is None else f"{rate:.1f}")
    t.add_section()
    rates = [v for v in fps.values() if v]
    t.add_row("global", *(_pct(summary[k]) for k in DAVIS_GLOBAL_COLUMNS), f"{sum(rates) / len(rates):.1f}" if rates else "-",
              style="bold")
    for name, g in (groups or {}).items():
        r = [fps[s] for s in g["sequences"] if fps.get(s)]
        t.add_row(f"{name} ({len(g['sequences'])})", *(_pct(g[k]) for k in DAVIS_GLOBAL_COLUMNS),
                  f"{sum(r) / len(r):.1f}" if r else "-")
    return t


def flow_table(results, *, title: str = "Optical flow") -> Table:
    """One row per method: EPE (px), 1/3/5 px accuracy and Fl-all (%), ms per pair."""
    t = Table(title=title)
    for c in ("Method", "EPE", "1px %", "3px %", "5px %", "Fl-all %", "ms/pair"):
        t.add_column(c, justify="left" if c == "Method" else "right")
    for r in results:
        s = r.summary
        t.add_row(r.method, f"{s['EPE']:.3f}", _pct(s["1px"]), _pct(s["3px"]), _pct(s["5px"]), _pct(s["Fl-all"]),
                  f"{s['ms/pair']:.1f}")
    return t


def flow_group_table(results, *, dataset: str, title: str = "Per group") -> Table:
    """One row per group and method (the groups of flow_bench.pair_group), the columns of flow_table."""
    t = Table(title=title)
    for c in ("Group", "Method", "pairs", "EPE", "1px %", "3px %", "5px %", "Fl-all %", "ms/pair"):
        t.add_column(c, justify="left" if c in ("Group", "Method") else "right")
    per = {r.method: r.group_summaries(dataset) for r in results}
    for g in per[results[0].method]:
        for r in results:
            s = per[r.method][g]
            t.add_row(g, r.method, str(s["pairs"]), f"{s['EPE']:.3f}", _pct(s["1px"]), _pct(s["3px"]), _pct(s["5px"]),
                      _pct(s["Fl-all"]), f"{s['ms/pair']:.1f}")
    return t


def speed_table(rows: list[dict], *, title: str = "Speed") -> Table:
    """Rows of {task, method, frames/s, ms/frame, peak MiB}."""
    t = Table(title=title)
    for c in ("Task", "Method", "frames/s", "ms/frame", "peak MiB"):
        t.add_column(c, justify="left" if c in ("Task", "Method") else "right")
    for r in rows:
        peak = r.get("peak_mib")
        t.add_row(r["task"], r["method"], f"{r['fps']:.2f}", f"{1000 / r['fps']:.1f}" if r["fps"] else "-",
                  "-" if peak is None else f"{peak:.0f}")
    return t
