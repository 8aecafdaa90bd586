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


def clip_config(*, size=(512, 288), frames: int = 24, tracked_zoom: float = 1.4, reveal: float = 0.0, twins: float = 0.0):
    """Video-like motion: smaller steps than the flow scenes, objects kept in view. ``tracked_zoom``:
    the tracked object's largest total scale change over the clip (the long variant: objects that
    approach or leave the camera, as real footage has). ``reveal``: the chance an object shows new parts
    during the clip (SceneConfig.reveal_prob); ``twins``: the chance an object has a look-alike twin
    (SceneConfig.twin_prob)."""
    from ..data import SceneConfig

    # The generator's scale and perspective terms grow with the frame index (a 5 % step compounds to
    # 17x over 60 frames, and the projective term reaches the horizon): clips longer than the 24
    # frames these limits were set for get them shrunk so they end where a 24-frame clip ends.
    long = min(1.0, 23.0 / max(frames - 1, 1))
    return SceneConfig(size=size, frames=frames, tracking=True, max_translation=0.04, max_rotation=5.0,
                       max_scale=0.05 * long, camera_translation=0.02, camera_rotation=1.0, camera_scale=0.02 * long,
                       camera_perspective=0.05 * long, max_layers=5, tracked_zoom=tracked_zoom, reveal_prob=reveal,
                       twin_prob=twins)


def score_clip(session, scene, *, t: bool = False, persistent: bool = False) -> dict[str, float]:
    """Mean J (region IoU) and F (boundary F-measure, DAVIS toolkit) over objects and frames after the
    first, J on the last third, and the share of the objects' error that is missed object pixels
    ("miss": false negatives / (false negatives + false positives)); with ``t`` also T, the DAVIS-2016
    temporal stability of the predicted contours (per object, x5 scale as published; lower is better).
    ``persistent``: score only the objects visible in every frame (as DAVIS-2016's one object is; in
    long clips the others drift out of view and an empty prediction would score them 1), though every
    object is tracked."""
    from .davis_metrics import boundary_f, region_similarity
    from .t_stability import temporal_stability

    ids = [int(i) for i in np.unique(scene.masks[0]) if i != 0]
    if persistent:
        ids = [i for i in ids if all((m == i).any() for m in scene.masks)]
    if not ids:
        raise ValueError("no object to score in this clip" + (" (none is visible in every frame)" if persistent else ""))
    per_frame, per_frame_f, per_frame_t = [], [], []
    fn = fp = 0
    prev = None
    for res, gt in zip(session.propagate(list(scene.frames), first_mask=scene.masks[0]), scene.masks):
        if res.index > 0:
            per_frame.append(np.mean([region_similarity(gt == i, res.mask == i) for i in ids]))
            per_frame_f.append(np.mean([boundary_f(gt == i, res.mask == i) for i in ids]))
            for i in ids:
                fn += int(((gt == i) & (res.mask != i)).sum())
                fp += int(((gt != i) & (res.mask == i)).sum())
            if t:
                ts = [temporal_stability(prev == i, res.mask == i) for i in ids]
                if not all(np.isnan(ts)):
                    per_frame_t.append(np.nanmean(ts))
        prev = res.mask
    late = per_frame[len(per_frame) * 2 // 3:]
    row = {"J": float(np.mean(per_frame)), "F": float(np.mean(per_frame_f)), "J_last_third": float(np.mean(late)),
           "miss": fn / max(fn + fp, 1)}
    if t:
        row["T"] = float(np.mean(per_frame_t)) if per_frame_t else float("nan")
    return row


def validation_clips(*, clips=8, frames: int = 24, size=(512, 288), tracked_zoom: float = 1.4, start: int = 0,
                     reveal: float = 0.0, twins: float = 0.0):
    """The fixed validation clips ``start`` .. ``start + clips - 1`` of the VAL_SEED stream."""
    from ..data import generate_scene

    cfg = clip_config(size=size, frames=frames, tracked_zoom=tracked_zoom, reveal=reveal, twins=twins)
    return [generate_scene(cfg, VAL_SEED, index=i) for i in range(start, start + clips)]


def evaluate(sessions: dict, *, clips: int = 8, frames: int = 24, size=(512, 288), tracked_zoom: float = 1.4,
             t: bool = False, start: int = 0, reveal: float = 0.0, twins: float = 0.0) -> dict[str, dict[str, float]]:
    scenes = validation_clips(clips=clips, frames=frames, size=size, tracked_zoom=tracked_zoom, start=start, reveal=reveal,
                              twins=twins)
    out = {}
    for name, session in sessions.items():
        t0 = time.perf_counter()
        rows = [score_clip(session, s, t=t) for s in scenes]
        out[name] = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
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
    p.add_argument("--start", type=int, default=0, help="first clip index of the stream (hold clips out)")
    p.add_argument("--zoom", type=float, default=1.4, help="tracked objects' largest scale change over a clip")
    p.add_argument("--reveal", type=float, default=0.0, help="chance an object shows new parts during a clip (0-1)")
    p.add_argument("--twins", type=float, default=0.0, help="chance an object has a look-alike twin in the clip (0-1)")
    p.add_argument("--t", action="store_true", help="also T, the temporal stability of the contours (slower)")
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
    for name, r in evaluate(sessions, clips=args.clips, frames=args.frames, size=size, tracked_zoom=args.zoom, t=args.t,
                            start=args.start, reveal=args.reveal, twins=args.twins).items():
        extra = f"  T {r['T']:.3f}" if "T" in r else ""
        print(f"{name:40s} J {r['J']:.3f}  F {r['F']:.3f}  J(last third) {r['J_last_third']:.3f}  miss {r['miss']:.2f}"
              f"{extra}  {r['seconds']:.1f} s")


if __name__ == "__main__":
    main()
