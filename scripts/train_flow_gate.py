"""Train the flow branch's learnt gate (models/lite/flow_gate.py) on a frozen network and save the weights
with it (LiteConfig.flow_gate_net; every other tensor bit for bit).

    apt-get install opencv-doc      # the photos (eval.photo_pairs.DEFAULT_PHOTOS); or --photos DIR
    python scripts/train_flow_gate.py weights/segflow-lite.safetensors OUT.safetensors [--steps 1500]

Data, cached once (the network's ungated correction and its own warm start per pair, about 5 GB):
generated pairs from the training generator (segflow_cli.data, the default and the hard settings,
384x320) and photo pairs (eval.photo_pairs) from the even-numbered photos, small (384x320, motion up to
80 px) and large (768x384, up to 150 px). The loss is the EPE of init + gate * correction, with the gate
as the network applies it (residual_gate x learnt gate). Checkpoints every 500 steps; the one with the
lowest mean EPE on photo pairs of the odd-numbered photos (small and large sets, other seeds) is saved.
About 23 minutes on 2 CPU cores (9 of them caching). The real pairs of ../shared/data are never read.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time
from pathlib import Path

TRAIN_SEED = 1000  # generated pairs' stream (eval.synthetic.VAL_SEED is another)


def _cache(model, pairs):
    """[(img1, img2, gt)] -> [(img1, img2, gt, init, correction)], flows float16 (H, W, 2)."""
    import numpy as np

    from segflow_cli.inference import load_flow_estimator
    from segflow_cli.models import transform_for

    net = load_flow_estimator(model=model, device="cpu")
    warm = transform_for(model)  # the network's own warm start (flow_init)
    out = []
    for a, b, gt in pairs:
        init = warm.warm_start(a, b).permute(1, 2, 0).numpy()
        out.append((a, b, gt.astype(np.float16), init.astype(np.float16), (net(a, b) - init).astype(np.float16)))
    return out


def _tensors(row):
    import numpy as np
    import torch

    a, b, gt, init, corr = row
    im = lambda x: torch.from_numpy(x).permute(2, 0, 1).float() / 255  # noqa: E731
    fl = lambda x: torch.from_numpy(x.astype(np.float32)).permute(2, 0, 1)  # noqa: E731
    return im(a), im(b), fl(gt), fl(init), fl(corr)


def _gated(model, im1, im2, init, corr):
    """The flow as the network makes it from this warm start and correction (SegFlowLite.correction_gate)."""
    return init + model.correction_gate(im1, im2, init, corr) * corr


def _val_epe(model, rows) -> float:
    import torch

    with torch.no_grad():
        errs = []
        for r in rows:
            im1, im2, gt, init, corr = (t[None] for t in _tensors(r))
            errs.append(float((_gated(model, im1, im2, init, corr) - gt).norm(dim=1).mean()))
    return sum(errs) / len(errs)


def main(argv=None) -> None:
    import numpy as np
    import torch

    from segflow_cli.data import SceneConfig, generate_scene
    from segflow_cli.errors import SegflowError
    from segflow_cli.eval.photo_pairs import DEFAULT_PHOTOS, PhotoPairConfig, load_photos, render_pair
    from segflow_cli.models.lite.flow_gate import LearntGate
    from segflow_cli.policy import keep_freed_memory
    from segflow_cli.weights import get_weights, save_derived

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--gen-pairs", type=int, default=1000)
    p.add_argument("--photo-pairs", type=int, default=600)
    p.add_argument("--big-pairs", type=int, default=300)
    p.add_argument("--val-pairs", type=int, default=160)
    p.add_argument("--val-big-pairs", type=int, default=60)
    p.add_argument("--photos", default=str(DEFAULT_PHOTOS))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    keep_freed_memory()

    w = get_weights(args.src)
    if w.architecture != "segflow-lite":
        raise SystemExit(f"{args.src} holds {w.architecture} weights; the learnt gate is segflow-lite's")
    base = w.load()
    if base.config.flow_init == "none":
        raise SystemExit(f"{args.src} has no warm start; the gate scales a correction of one")
    ungated = copy.deepcopy(base)
    ungated.config = dataclasses.replace(base.config, flow_gate=0.0, flow_gate_net=False, flow_select_radius=0)
    ungated.flow_gate_net = None

    try:
        photos = load_photos(args.photos)
    except SegflowError as exc:  # a missing or thin photo folder: one line naming the fix
        raise SystemExit(f"error: {exc}") from None
    even, odd = photos[0::2], photos[1::2]
    small = PhotoPairConfig(size=(384, 320), max_motion=80.0, camera=12.0)
    big = PhotoPairConfig(size=(768, 384))

    def photo_set(part, n, seed, cfg):
        rng = np.random.default_rng(seed)
        return [(q.frame1, q.frame2, q.flow) for q in (render_pair(part, rng, cfg) for _ in range(n))]

    t0 = time.perf_counter()
    gen_cfgs = [SceneConfig(size=(384, 320), frames=2), SceneConfig(size=(384, 320), frames=2, thin_prob=0.3, fog_prob=0.5)]
    gen = [generate_scene(gen_cfgs[i % 2], TRAIN_SEED, index=i) for i in range(args.gen_pairs)]
    train = _cache(ungated, [(s.frames[0], s.frames[1], s.flows[0]) for s in gen])
    del gen
    train += _cache(ungated, photo_set(even, args.photo_pairs, 11, small))
    large = _cache(ungated, photo_set(even, args.big_pairs, 21, big))
    val_small = _cache(ungated, photo_set(odd, args.val_pairs, 12, small))
    val_big = _cache(ungated, photo_set(odd, args.val_big_pairs, 22, big))
    train += large + large  # the large motions twice: they are where the gate matters most
    print(f"cached {len(train)} training and {len(val_small) + len(val_big)} validation pairs in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)

    model = copy.deepcopy(base)
    model.config = dataclasses.replace(base.config, flow_gate_net=True)
    model.flow_gate_net = LearntGate()
    gate = model.flow_gate_net
    opt = torch.optim.Adam(gate.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.steps, pct_start=0.05)
    rng = np.random.default_rng(0)
    crop, best, running = 256, None, 0.0
    for step in range(1, args.steps + 1):
        parts = [[] for _ in range(5)]
        for i in rng.integers(0, len(train), 8):
            ts = _tensors(train[i])
            h, w_ = ts[0].shape[-2:]
            c = min(crop, h, w_)
            y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w_ - c + 1))
            for k in range(5):
                parts[k].append(ts[k][:, y:y + c, x:x + c])
        im1, im2, gt, init, corr = (torch.stack(q) for q in parts)
        loss = (_gated(model, im1, im2, init, corr) - gt).norm(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = 0.98 * running + 0.02 * loss.item()
        if step % 500 == 0 or step == args.steps:
            gate.eval()
            v = (_val_epe(model, val_small) + _val_epe(model, val_big)) / 2
            gate.train()
            print(f"step {step}: training EPE {running:.3f}, validation EPE {v:.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
            if best is None or v < best[0]:
                best = (v, step, copy.deepcopy(gate.state_dict()))
    gate.load_state_dict(best[2])
    model.eval()
    note = (f"Stop 28: a learnt flow gate added (scripts/train_flow_gate.py, {args.steps} steps, step {best[1]} kept: "
            f"photo-pair validation EPE {best[0]:.3f}); new tensors flow_gate_net.*, every other one bit-identical.")
    digest = save_derived(model, Path(args.dst), parent=w, note=note)
    print(f"wrote {args.dst} (sha256 {digest[:12]}...), step {best[1]}")


if __name__ == "__main__":
    main()
