"""Where segflow's flow error comes from, next to plain OpenCV DIS (issue "Flow that beats OpenCV DIS
everywhere", item 2): per pair, per ground-truth motion magnitude, occluded vs visible pixels.

    OMP_NUM_THREADS=1 python benchmarks/flow_error_breakdown.py [../shared/data/flow] [--out DIR]
        [--threads 1] [--weights segflow-lite] [--max-size 1024]

Pairs, groups, ground truth and valid masks come from the project's dataset layer (``list_pairs``
with the folder layout, ``pair_group``), exactly as `segflow benchmark flow` scores them: EPE over
pixels not invalid (Sintel invalid.png, unknown flow), occluded pixels included. The layout does not
expose occlusions, so Sintel's ``occlusions.png`` (white = occluded) is read from the pair's folder
when it exists. "delta" is the mean |segflow - DIS| flow: the size of the network's residual on top
of DIS. Magnitude bins and occlusion rows pool every scored pixel (pixel-weighted); the per-pair EPE
is segflow_cli's own ``flow_errors``. With ``--out DIR``: pairs.csv, bins.csv, occlusion.csv there.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

BINS = [(0, 5), (5, 20), (20, 50), (50, np.inf)]
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flow"


def table(title: str, header: list[str], rows: list[list]) -> str:
    cells = [header] + [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)) for r in cells]
    return "\n".join([f"== {title}", lines[0], "-" * len(lines[0])] + lines[1:]) + "\n"


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header] + rows)


def bin_rows(label: str, mag, es, ed, dl) -> list[list]:
    rows = []
    for lo, hi in BINS:
        m = (mag >= lo) & (mag < hi)
        n = int(m.sum())
        name = f"[{lo},{'inf' if hi == np.inf else hi})"
        if n:
            rows.append([label, name, n, float(es[m].mean()), float(ed[m].mean()),
                         float(es[m].mean() / max(ed[m].mean(), 1e-9)), float(dl[m].mean())])
        else:
            rows.append([label, name, 0, "-", "-", "-", "-"])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", default="segflow-lite")
    ap.add_argument("--max-size", type=int, default=1024)
    a = ap.parse_args()
    if not a.root.is_dir():
        print(f"flow_error_breakdown: shared flow data not found at {a.root}; nothing to do")
        return 1

    import cv2

    from segflow_cli.classical import dis_flow
    from segflow_cli.data.layouts import list_pairs
    from segflow_cli.eval.flow_bench import pair_group
    from segflow_cli.eval.flow_metrics import flow_errors
    from segflow_cli.inference import load_flow_estimator
    from segflow_cli.io import read_image
    from segflow_cli.policy import configure_threads

    cv2.setNumThreads(a.threads)
    configure_threads(a.threads)
    est = load_flow_estimator(weights=a.weights, device="cpu", max_size=a.max_size)
    t0 = time.perf_counter()
    pairs = list_pairs("folder", a.root)
    pair_rows, occ_rows, pix = [], [], {}  # pix[group] -> lists of (mag, err segflow, err DIS, delta)
    for p in pairs:
        g = pair_group(p.name, "folder")
        img1, img2 = read_image(p.image1), read_image(p.image2)
        gt, valid = p.truth()
        fs, fd = est(img1, img2), dis_flow(img1, img2)
        es_pair, ed_pair = flow_errors(fs, gt, valid), flow_errors(fd, gt, valid)
        es, ed = np.linalg.norm(fs - gt, axis=-1)[valid], np.linalg.norm(fd - gt, axis=-1)[valid]
        mag, dl = np.linalg.norm(gt, axis=-1)[valid], np.linalg.norm(fs - fd, axis=-1)[valid]
        for k, v in zip("mesd", (mag, es, ed, dl)):
            pix.setdefault(g, {}).setdefault(k, []).append(v)
        pair_rows.append([g, p.name.split("/")[-1], es_pair.epe, ed_pair.epe, es_pair.epe / ed_pair.epe,
                          float((es < ed).mean()), float(dl.mean()), float(mag.mean())])
        occ_png = p.image1.parent / "occlusions.png"
        if occ_png.is_file():
            o = read_image(occ_png)
            occ = ((o.max(-1) if o.ndim == 3 else o) >= 128)[valid]
            for label, m in (("occluded", occ), ("visible", ~occ)):
                if m.any():
                    occ_rows.append([g, p.name.split("/")[-1], label, int(m.sum()), float(es[m].mean()),
                                     float(ed[m].mean()), float(es[m].mean() / ed[m].mean()), float(dl[m].mean())])
        print(f"  {p.name}: segflow {es_pair.epe:.3f}  DIS {ed_pair.epe:.3f}", file=sys.stderr, flush=True)

    out = []
    h1 = ["group", "pair", "EPE_segflow", "EPE_DIS", "ratio", "frac_segflow_better", "delta", "mean_|gt|"]
    s, d = np.mean([r[2] for r in pair_rows]), np.mean([r[3] for r in pair_rows])
    out.append(table(f"per pair ({len(pair_rows)} pairs; mean of per-pair EPE: segflow {s:.3f}, DIS {d:.3f}, "
                     f"ratio {s / d:.3f})", h1, pair_rows))
    h2 = ["scope", "|gt| bin", "pixels", "EPE_segflow", "EPE_DIS", "ratio", "delta"]
    cat = {k: np.concatenate([np.concatenate(pix[g][k]) for g in pix]) for k in "mesd"}
    bins = bin_rows("all", cat["m"], cat["e"], cat["s"], cat["d"])
    for g in pix:
        bins += bin_rows(g, *(np.concatenate(pix[g][k]) for k in "mesd"))
    out.append(table("per motion-magnitude bin (pixels pooled; delta = mean |segflow - DIS|)", h2, bins))
    h3 = ["group", "pair", "region", "pixels", "EPE_segflow", "EPE_DIS", "ratio", "delta"]
    pooled = []
    for label in ("occluded", "visible"):
        rs = [r for r in occ_rows if r[2] == label]
        n = sum(r[3] for r in rs)
        if n:
            f = lambda i: float(sum(r[3] * r[i] for r in rs) / n)  # noqa: E731
            pooled.append(["all", "(pooled)", label, n, f(4), f(5), f(4) / f(5), f(7)])
    out.append(table(f"occluded vs visible ({len({r[1] for r in occ_rows})} pairs with occlusions.png)",
                     h3, occ_rows + pooled))
    print("\n".join(out) + f"\n{len(pairs)} pairs in {time.perf_counter() - t0:.1f} s (threads {a.threads})")
    if a.out is not None:
        a.out.mkdir(parents=True, exist_ok=True)
        write_csv(a.out / "pairs.csv", h1, pair_rows)
        write_csv(a.out / "bins.csv", h2, bins)
        write_csv(a.out / "occlusion.csv", h3, occ_rows + pooled)
        print(f"wrote {a.out}/pairs.csv, bins.csv, occlusion.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
