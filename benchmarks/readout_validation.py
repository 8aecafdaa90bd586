"""Readout settings of `propagate` on the generated validation clips (never the real sequences).

    python benchmarks/readout_validation.py --clips 0-6 --frames 24 default null=none power=2
    python benchmarks/readout_validation.py --clips 0-6 --frames 60 --zoom 2.5 default null=0.3
    python benchmarks/readout_validation.py --clips 0-12 --reveal 1.0 default   # objects showing new parts
    python benchmarks/readout_validation.py --clips 0-12 --twins 1.0 default    # objects with look-alike twins

Each setting is a comma-joined list of overrides of the shipped session (key=value):
  null=none|X   the dustbin's cosine (ReadoutConfig.null_similarity; none: no dustbin)
  nullrecent=0|1  the dustbin also where the memory holds recent frames (ReadoutConfig.null_with_recent)
  topk=N, temp=X, radius=N    the readout's candidates, softmax temperature, window radius (cells)
  frames=N, every=N, near=N   recent memory frames kept, the spacing between them, and how many of the
                              last ones are kept whatever the spacing (memory_near)
  fmax=0|1      each window cell's best match over the recent frames only (ReadoutConfig.frame_max)
  lwp=X         annotated-frame candidates beyond the radius count X less cosine (ReadoutConfig.long_window_penalty)
  edge=N, eps=X               the edge refinement's radius (0: off) and eps
  power=X       predicted values join the memory raised to X, renormalised (memory_power; 2 is sharpen=0.5
                of stop 21's wrapper, which this replaces)
  thr=X         the shown mask's threshold (VideoSession threshold; 0.5: the plain argmax)
  lstride=N, lmargin=N        the annotated frame's background lattice and whole margin around the objects
                              (inference.memory.LONG_STRIDE / LONG_MARGIN; lstride=1: every cell)
  keep=N, keepevery=N         predicted frames also read globally, and their spacing (inference.memory.KEEP_FRAMES /
                              KEEP_EVERY; keep=0: the annotated frames only)
"default" is the shipped setting. Clips come from eval.synthetic's VAL_SEED stream at 854x480 (the
DAVIS size), so a setting is chosen here and only then run on DAVIS. Prints J and F (four decimals: rules
compare differences of 0.003-0.005, stop 41), J on the last
third, the share of the error that is missed object pixels, T with --t, and the mean J of the clips with two or
more objects (Jmulti, their count in brackets).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import segflow_cli.inference.memory as smem

_STRIDE, _MARGIN = smem.LONG_STRIDE, smem.LONG_MARGIN  # the shipped values, before any setting changes them
_KEEP, _KEEP_EVERY = smem.KEEP_FRAMES, smem.KEEP_EVERY


def session_for(model, setting: str):
    import torch

    from segflow_cli.inference import EDGE_EPS, EDGE_RADIUS, create_session
    from segflow_cli.inference.methods import MASK_THRESHOLD, MEMORY_EVERY, MEMORY_FRAMES, MEMORY_NEAR
    from segflow_cli.models.memory import readout

    kw = dict(kv.split("=") for kv in setting.split(",")) if setting != "default" else {}
    unknown = set(kw) - {"null", "nullrecent", "topk", "temp", "radius", "frames", "every", "near", "edge", "eps", "power",
                      "fmax", "thr", "lwp", "lstride", "lmargin", "keep", "keepevery"}
    if unknown:
        raise SystemExit(f"unknown override(s) {sorted(unknown)} in {setting!r}")
    sess = create_session(method="propagate", model=model, compute_flow=False, max_size=864,
                          memory_frames=int(kw.get("frames", MEMORY_FRAMES)), memory_every=int(kw.get("every", MEMORY_EVERY)),
                          memory_near=int(kw.get("near", MEMORY_NEAR)), threshold=float(kw.get("thr", MASK_THRESHOLD)),
                          edge_radius=int(kw.get("edge", EDGE_RADIUS)), edge_eps=float(kw.get("eps", EDGE_EPS)),
                          **({"memory_power": float(kw["power"])} if "power" in kw else {}))
    smem.LONG_STRIDE, smem.LONG_MARGIN = int(kw.get("lstride", _STRIDE)), int(kw.get("lmargin", _MARGIN))
    smem.KEEP_FRAMES, smem.KEEP_EVERY = int(kw.get("keep", _KEEP)), int(kw.get("keepevery", _KEEP_EVERY))
    cfg = model.config.readout
    over = {}
    if "null" in kw:
        over["null_similarity"] = None if kw["null"] == "none" else float(kw["null"])
    if "fmax" in kw:
        over["frame_max"] = bool(int(kw["fmax"]))
    if "nullrecent" in kw:
        over["null_with_recent"] = bool(int(kw["nullrecent"]))
    for k, f, typ in (("topk", "topk", int), ("temp", "temperature", float), ("radius", "radius", int),
                      ("lwp", "long_window_penalty", float)):
        if k in kw:
            over[f] = typ(kw[k])
    cfg = dataclasses.replace(cfg, **over)
    sess.runner.read_memory = torch.inference_mode()(lambda key, memory: readout(key, memory, config=cfg))
    return sess


def main() -> None:
    import numpy as np
    import torch

    from segflow_cli.eval.synthetic import score_clip, validation_clips
    from segflow_cli.weights import load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("settings", nargs="+")
    p.add_argument("--clips", default="0-6", help="clip indices a-b (b excluded) of the validation stream")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--zoom", type=float, default=1.4, help="tracked objects' largest scale change over a clip")
    p.add_argument("--reveal", type=float, default=0.0, help="chance an object shows new parts during a clip (0-1)")
    p.add_argument("--twins", type=float, default=0.0, help="chance an object has a look-alike twin in the clip (0-1)")
    p.add_argument("--t", action="store_true", help="also T (slower)")
    p.add_argument("--persistent", action="store_true", help="score only objects visible in every frame")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    a, b = (int(v) for v in args.clips.split("-"))
    scenes = validation_clips(clips=b - a, start=a, frames=args.frames, size=(854, 480), tracked_zoom=args.zoom,
                              reveal=args.reveal, twins=args.twins)
    multi_clip = [len(np.unique(s.masks[0])) > 2 for s in scenes]  # clips with two or more objects (Jmulti)
    model, _, _ = load_model("segflow-lite")
    for setting in args.settings:
        sess = session_for(model, setting)
        t0 = time.perf_counter()
        rows = [score_clip(sess, s, t=args.t, persistent=args.persistent) for s in scenes]
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        per = " ".join(f"{r['J']:.2f}" for r in rows)
        extra = f" T {mean['T']:.3f}" if "T" in mean else ""
        multi = [r["J"] for r, m in zip(rows, multi_clip) if m]
        extra += f" Jmulti {sum(multi) / max(len(multi), 1):.4f} ({len(multi)})"
        print(f"{setting:28s} J {mean['J']:.4f} F {mean['F']:.4f} Jlast {mean['J_last_third']:.3f} "
              f"miss {mean['miss']:.2f}{extra}  [{per}]  {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
