"""Flow checkpoint selection on generated pairs (never the real pairs whose EPE is reported).

    python benchmarks/flow_synthetic_val.py WEIGHTS [WEIGHTS ...]

A fixed subset: pairs 0-11 of the validation seed stream (eval.synthetic.VAL_SEED) with the default
scene settings, and pairs 0-11 with the hard cases on (thin structures 0.3, haze 0.5), 384x320.
EPE over all pixels and over the pixels marked valid (visible in both frames); plain DIS beside.
"""

from __future__ import annotations

import sys

import numpy as np


def pairs():
    from segflow_cli.data import SceneConfig, generate_scene
    from segflow_cli.eval.synthetic import VAL_SEED

    groups = {"default": SceneConfig(size=(384, 320), frames=2),
              "hard": SceneConfig(size=(384, 320), frames=2, thin_prob=0.3, fog_prob=0.5)}
    return {g: [generate_scene(cfg, VAL_SEED, index=i) for i in range(12)] for g, cfg in groups.items()}


def score(fn, data) -> dict[str, float]:
    out = {}
    for g, scenes in data.items():
        all_, vis = [], []
        for s in scenes:
            f = fn(s.frames[0], s.frames[1])
            e = np.linalg.norm(f - s.flows[0], axis=-1)
            all_.append(e.mean())
            vis.append(e[s.valid[0]].mean())
        out[f"{g}_epe"], out[f"{g}_epe_valid"] = float(np.mean(all_)), float(np.mean(vis))
    out["mean_epe"] = float(np.mean([out["default_epe"], out["hard_epe"]]))
    return out


def main(argv: list[str]) -> None:
    from segflow_cli.classical import dis_flow
    from segflow_cli.inference import load_flow_estimator

    data = pairs()
    rows = {"dis": score(dis_flow, data)}
    for w in argv:
        rows[w] = score(load_flow_estimator(weights=w, device="cpu"), data)
    for name, r in rows.items():
        print(f"{name:48s} " + "  ".join(f"{k} {v:.3f}" for k, v in r.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
