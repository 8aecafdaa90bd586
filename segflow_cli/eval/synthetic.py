"""Video-segmentation validation on generated clips (exact masks; never real data).

Checkpoints and inference settings are chosen here, so that the DAVIS figures stay an honest test:
``python -m segflow_cli.eval.synthetic --method segflow --method propagate --method dis-warp``.
The clips come from a seed stream the training never draws (``VAL_SEED``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

VAL_SEED = 7100  # training draws seeds 0.. from its own stream; validation clips come from here


def clip_config(*, size=(512, 288), frames: int = 24):
    """Video-like motion: smaller steps than the flow scenes, objects kept in view."""
    from ..data import SceneConfig

    return SceneConfig(size=size, frames=frames, tracking=True, max_translation=0.04, max_rotation=5.0,
                       max_scale=0.05, camera_translation=0.02, camera_rotation=1.0, camera_scale=0.02, max_layers=5)


def score_clip(session, scene) -> dict[str, float]:
    """Mean J (region IoU) and F (boundary F-measure, DAVIS toolkit) over objects and frames after the
    first, and J on the last third."""
    from .davis_metrics import boundary_f, region_similarity

    ids = [int(i) for i in np.unique(scene.masks[0]) if i != 0]
    per_frame, per_frame_f = [], []
    for res, gt in zip(session.propagate(list(scene.frames), first_mask=scene.masks[0]), scene.masks):
        if res.index > 0:
            per_frame.append(np.mean([region_similarity(gt == i, res.mask == i) for i in ids]))
            per_frame_f.append(np.mean([boundary_f(gt == i, res.mask == i) for i in ids]))
    late = per_frame[len(per_frame) * 2 // 3:]
    return {"J": float(np.mean(per_frame)), "F": float(np.mean(per_frame_f)), "J_last_third": float(np.mean(late))}


def evaluate(sessions: dict, *, clips: int = 8, frames: int = 24, size=(512, 288)) -> dict[str, dict[str, float]]:
    from ..data import generate_scene

    cfg = clip_config(size=size, frames=frames)
    scenes = [generate_scene(cfg, VAL_SEED, index=i) for i in range(clips)]
    out = {}
    for name, session in sessions.items():
        t0 = time.perf_counter()
        rows = [score_clip(session, s) for s in scenes]
        out[name] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        out[name]["seconds"] = time.perf_counter() - t0
    return out


def main(argv=None) -> None:
    from ..inference import create_session
    from ..weights import load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", action="append", help="segflow, segflow-nomem, propagate, dis-warp, "
                   "or segflow:memory_prior=mean (a config override)")
    p.add_argument("--weights", default="segflow-lite")
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--size", default="512x288", help="clip size WxH")
    p.add_argument("--max-size", type=int, default=512, help="the sessions' internal resolution cap (512: the clips' own size)")
    args = p.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    sessions = {}
    for m in args.method or ["segflow", "propagate", "dis-warp"]:
        base, _, over = m.partition(":")
        kw = dict(kv.split("=") for kv in over.split(",")) if over else {}
        if base == "dis-warp":
            sessions[m] = create_session(method="dis-warp", compute_flow=False, max_size=args.max_size)
            continue
        model, card, _ = load_model(args.weights)
        if kw:
            import dataclasses

            typed = {k: type(getattr(model.config, k))(v) for k, v in kw.items()}
            model.config = dataclasses.replace(model.config, **typed)
        method = "propagate" if base == "propagate" else "segflow"
        sessions[m] = create_session(method=method, model=model, compute_flow=False, memory=base != "segflow-nomem",
                                     max_size=args.max_size)
    for name, r in evaluate(sessions, clips=args.clips, frames=args.frames, size=size).items():
        print(f"{name:40s} J {r['J']:.3f}  F {r['F']:.3f}  J(last third) {r['J_last_third']:.3f}  {r['seconds']:.1f} s")


if __name__ == "__main__":
    main()
