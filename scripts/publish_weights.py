"""Publish trained weights as a registry entry: weights/NAME.safetensors + weights/NAME.json.

    python scripts/publish_weights.py --src runs/lite/weights.safetensors --name segflow-lite \
        --davis segflow=res/davis/results.json --davis dis-warp=res/diswarp/results.json \
        --flow res/flow/results.json --note "..."

The card keeps the training record from the run's own card and adds the real-data figures (DAVIS
J&F per method, flow EPE per method) from `segflow benchmark ... --out` results files, so the card
says exactly what produced the numbers.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from segflow_cli.weights import sha256_of, weights_dir


def _run_entry(training: dict) -> dict:
    """One link of a card's training chain, from a run's own card."""
    cfg = training["config"]
    one_phase = cfg["schedule"] == "alternate" and cfg["switch_every"] >= training["steps"]
    first = {"seg": "segmentation", "flow": "flow"}[cfg["phases"][0]]
    phases = (f"{first} phase only" if one_phase
              else f"{cfg['schedule']} {'/'.join(cfg['phases'])} every {cfg['switch_every']} steps")
    return {"run": Path(cfg["out"]).name, "steps": training["steps"], "wall_time_s": training["wall_time_s"],
            "prior_strength": cfg.get("prior_strength"), "hard_prior_rate": cfg.get("hard_prior_rate", 0.0),
            "schedule": f"{phases}, lr {cfg['lr']:g} (trunk {cfg['trunk_lr_scale']:g}x), batch {cfg['batch_size']}, "
                        f"{cfg['size'][0]}x{cfg['size'][1]}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--name", default="segflow-lite")
    ap.add_argument("--davis", action="append", default=[], help="LABEL=results.json from benchmark davis --out")
    ap.add_argument("--flow", action="append", default=[], help="results.json from benchmark flow --out")
    ap.add_argument("--speed", type=Path, help="speed.json from benchmark speed --out")
    ap.add_argument("--note", default="")
    ap.add_argument("--chain-from", type=Path, action="append", default=[],
                    help="cards of the weights this run descends from, oldest first (repeatable): the first card's "
                         "training chain is kept, the others and this run are appended, so the card covers every step")
    args = ap.parse_args()

    card = json.loads(args.src.with_suffix(".json").read_text())
    if args.chain_from:
        # Read before the copy below may overwrite them (publishing over the previous weights).
        cards = [json.loads(p.read_text())["training"] for p in args.chain_from] + [card["training"]]
        first = cards[0]
        chain = list(first.get("chain") or [_run_entry(first)])
        chain += [_run_entry(t) for t in cards[1:]]
        card["training"].update(chain=chain, steps_total=sum(c["steps"] for c in chain),
                                wall_time_total_s=sum(c["wall_time_s"] for c in chain))
    if "data_engine_settings" not in card["training"]:  # runs exported before cards carried them
        from segflow_cli.train import TrainConfig
        from segflow_cli.train.data import data_engine_settings

        known = TrainConfig.__dataclass_fields__
        cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in card["training"]["config"].items() if k in known}
        card["training"]["data_engine_settings"] = data_engine_settings(TrainConfig(**cfg))
    dst = weights_dir() / f"{args.name}.safetensors"
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.src, dst)
    real: dict = {}
    for entry in args.davis:
        label, _, path = entry.partition("=")
        res = json.loads(Path(path).read_text())
        real.setdefault("davis2016_shared_8_sequences", {})[label] = {
            k: (round(v, 4) if isinstance(v, float) else v) for k, v in res["global"].items()} | {"command": res["run"]["command"]}
    for path in args.flow:
        res = json.loads(Path(path).read_text())
        real.setdefault("flow_shared_pairs", {}).update(
            {m: {k: round(v, 4) for k, v in s.items()} for m, s in res["summary"].items()})
        real["flow_shared_pairs"]["command"] = res["run"]["command"]
    if args.speed:
        res = json.loads(args.speed.read_text())
        real["speed"] = {"size": res["size"], "device": res["run"]["device"], "command": res["run"]["command"],
                         "frames_per_s": {f"{r['task']}/{r['method']}": round(r["fps"], 2) for r in res["rows"]}}
    card.update(name=args.name, file=dst.name, sha256=sha256_of(dst))
    card.setdefault("metrics", {})["real_data"] = real
    if args.note:
        card["note"] = args.note
    (weights_dir() / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"published {dst} ({dst.stat().st_size / 1e6:.1f} MB, sha256 {card['sha256'][:12]})")


if __name__ == "__main__":
    main()
