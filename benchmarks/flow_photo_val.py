"""Flow settings chosen on photo pairs from a renderer that shares nothing with the training generator.

    apt-get install opencv-doc     # the photos (Debian); or --photos DIR with a folder of your own
    python benchmarks/flow_photo_val.py [--pairs 24] [--gates 0,1,2,5,10,20] [--weights segflow-lite]
    python benchmarks/flow_photo_val.py --haze 0.5 --motion-blur 0.7   # the Sintel-final-like set of stop 31

Pairs: ``segflow_cli.eval.photo_pairs`` (fixed seed VAL_SEED, 768x384, cut-outs moving up to 150 px,
half the pairs with a photometric change). Scores every pixel (occluded ones count, as on Sintel) and
the visible ones apart: EPE, 1px, 3px, Fl-all, for DIS medium, DIS fine (the network's warm start) and
the network at each residual-gate scale (LiteConfig.flow_gate, set on the loaded model; tensors as
shipped). The real pairs in ../shared/data never choose; this set does (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import time


def main(argv=None) -> None:
    import numpy as np

    from segflow_cli.classical import dis_flow
    from segflow_cli.eval.flow_metrics import flow_errors, summarize_flow
    from segflow_cli.eval.photo_pairs import DEFAULT_PHOTOS, PhotoPairConfig, photo_pairs
    from segflow_cli.inference import load_flow_estimator

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=24)
    p.add_argument("--photos", default=str(DEFAULT_PHOTOS))
    p.add_argument("--gates", default="0,1,2,5,10,20", help="residual-gate scales to score, comma-separated")
    p.add_argument("--weights", default="segflow-lite")
    p.add_argument("--haze", type=float, default=0.0, help="share of pairs seen through haze (PhotoPairConfig.haze)")
    p.add_argument("--motion-blur", type=float, default=0.0, help="share of pairs with motion-blurred layers")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    pairs = photo_pairs(args.pairs, folder=args.photos,
                        config=PhotoPairConfig(haze=args.haze, motion_blur=args.motion_blur))
    print(f"{len(pairs)} pairs rendered in {time.perf_counter() - t0:.0f} s; mean |flow| "
          f"{np.mean([np.linalg.norm(q.flow, axis=-1).mean() for q in pairs]):.1f} px, visible "
          f"{np.mean([q.visible.mean() for q in pairs]):.3f}")

    def score(name, fn):
        t = time.perf_counter()
        flows = [fn(q.frame1, q.frame2) for q in pairs]
        ms = 1000 * (time.perf_counter() - t) / len(pairs)
        every = summarize_flow([flow_errors(f, q.flow) for f, q in zip(flows, pairs)])
        vis = summarize_flow([flow_errors(f, q.flow, q.visible) for f, q in zip(flows, pairs)])
        print(f"{name:22s} EPE {every['EPE']:.3f}  1px {100 * every['1px']:.1f}  3px {100 * every['3px']:.1f}  "
              f"Fl-all {100 * every['Fl-all']:.1f}  | visible EPE {vis['EPE']:.3f} 1px {100 * vis['1px']:.1f} "
              f"Fl-all {100 * vis['Fl-all']:.1f}  | {ms:.0f} ms/pair", flush=True)

    score("dis (medium)", dis_flow)
    score("dis-fine", lambda a, b: dis_flow(a, b, preset="fine"))
    score("dis-full (warm start)", lambda a, b: dis_flow(a, b, preset="full"))
    net = load_flow_estimator(weights=args.weights, device="cpu")
    model = net.runner.model
    shipped = model.config
    for g in (float(x) for x in args.gates.split(",")):
        model.config = dataclasses.replace(shipped, flow_gate=g)
        score(f"segflow gate {g:g}" + (" (shipped)" if g == shipped.flow_gate else ""), net)
    model.config = shipped


if __name__ == "__main__":
    main()
