"""Re-tag segflow-lite weights with another DIS warm start (LiteConfig.flow_init), flow residual gate
(LiteConfig.flow_gate), per-pixel flow selection (LiteConfig.flow_select_radius / flow_select_max), memory gate focus (LiteConfig.memory_gate_focus) or memory readout rules
(LiteConfig.memory_frame_max, LiteConfig.memory_flow_windows, LiteConfig.memory_long_penalty), or without their learnt flow gate
(LiteConfig.flow_gate_net); tensors untouched.

    python scripts/retag_weights.py weights/segflow-lite.safetensors OUT.safetensors [--flow-init dis-full]
        [--flow-gate 2] [--flow-select-radius 3] [--flow-select-max 12|none] [--flow-gate-net 0] [--memory-gate-focus 2] [--memory-frame-max 1] [--memory-flow-windows 0] [--memory-long-penalty 0.03] [--note TEXT]

Every tensor is kept bit for bit (--flow-gate-net 0 drops the learnt gate's); only the config fields given change (``flow_init`` is what the weights
entry's input transform reads), and the card records the previous file's sha256. This is how the
shipped file of stop 23 was made from stop 22's (the flow branch trained on DIS-medium warm starts
refines the "fine" DIS setting better than it refines medium on the generated validation pairs), and
stop 24's from stop 23's (the residual gate and the gate focus), stop 25's from stop 24's (the readout's
best match over the recent frames; benchmarks/RESULTS.md), stop 30's from stop 29's (the "full" warm
start and the per-pixel flow selection), stop 34's from stop 33's (the "dis-match" warm start, the local error
choosing every pixel), stop 38's from stop 34's (the annotated frame's far candidates count 0.03 less). Named set_warm_start.py before stop 25.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path


def main(argv=None) -> None:
    from segflow_cli.weights import get_weights, save_derived

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--flow-init", default=None, choices=("none", "dis", "dis-fine", "dis-full", "dis-match"))
    p.add_argument("--flow-gate", default=None, type=float, help="the residual gate's scale in grey levels (0: off)")
    p.add_argument("--flow-gate-net", default=None, type=int, choices=(0, 1),
                   help="0: drop the learnt flow gate (its tensors; scripts/train_flow_gate.py adds one)")
    p.add_argument("--flow-select-radius", default=None, type=int,
                   help="per-pixel choice between warm start and corrected flow over (2 r + 1)^2 windows (0: off)")
    p.add_argument("--flow-select-max", default=None,
                   help="corrections this large (px) are always kept; none: the local error decides every pixel")
    p.add_argument("--memory-gate-focus", default=None, type=float, help="the memory gate's focus on unsure pixels (0: off)")
    p.add_argument("--memory-frame-max", default=None, type=int, choices=(0, 1),
                   help="1: each recent-frame window cell offers only its best match over the frames (0: off)")
    p.add_argument("--memory-flow-windows", default=None, type=int, choices=(0, 1),
                   help="0: the segflow method reads the recent frames in windows centred in place, not moved by its flow")
    p.add_argument("--memory-long-penalty", default=None, type=float,
                   help="the annotated frame's candidates beyond the window radius count this much less cosine (0: off)")
    p.add_argument("--note", default="", help="appended to the card's note")
    args = p.parse_args(argv)
    fields = {"flow_init": args.flow_init, "flow_gate": args.flow_gate,
              "flow_gate_net": None if args.flow_gate_net is None else bool(args.flow_gate_net), "memory_gate_focus": args.memory_gate_focus,
              "flow_select_radius": args.flow_select_radius,
              "memory_frame_max": None if args.memory_frame_max is None else bool(args.memory_frame_max),
              "memory_flow_windows": None if args.memory_flow_windows is None else bool(args.memory_flow_windows),
              "memory_long_penalty": args.memory_long_penalty}
    changes = {k: v for k, v in fields.items() if v is not None}
    if args.flow_select_max is not None:  # given: a size, or "none" (a value here: no size rule)
        text = args.flow_select_max.lower()
        try:
            changes["flow_select_max"] = None if text == "none" else float(text)
        except ValueError:
            p.error(f"--flow-select-max takes a size in px or none, not {args.flow_select_max!r}")
        if changes["flow_select_max"] is not None and not changes["flow_select_max"] > 0:
            p.error("--flow-select-max must be > 0 or none")
    if not changes:
        p.error("give at least one of --flow-init, --flow-gate, --flow-gate-net, --flow-select-radius, --flow-select-max, "
                "--memory-gate-focus, --memory-frame-max, --memory-flow-windows, --memory-long-penalty")
    if any(v < 0 for k, v in changes.items() if k in ("flow_gate", "memory_gate_focus", "flow_select_radius",
                                                         "memory_long_penalty")):
        p.error("--flow-gate, --flow-select-radius, --memory-gate-focus and --memory-long-penalty must be >= 0")
    w = get_weights(args.src)
    if w.architecture != "segflow-lite":
        raise SystemExit(f"{args.src} holds {w.architecture} weights; this script re-tags segflow-lite")
    model = w.load()
    if changes.get("flow_gate_net") and getattr(model, "flow_gate_net", None) is None:
        raise SystemExit(f"{args.src} has no learnt flow gate to keep; train one with scripts/train_flow_gate.py")
    if changes.get("flow_gate_net") is False:
        model.flow_gate_net = None  # its tensors go with it; every other one is kept
    model.config = dataclasses.replace(model.config, **changes)
    digest = save_derived(model, Path(args.dst), parent=w, note=args.note)
    print(f"wrote {args.dst} (sha256 {digest[:12]}...)")


if __name__ == "__main__":
    main()
