"""Carry a run's weight snapshots off a lent GPU machine as deltas, and rebuild them here.

    python scripts/snapshot_deltas.py pack RUN_DIR BASE.safetensors OUT      # OUT.safetensors + OUT.json
    python scripts/snapshot_deltas.py apply OUT.safetensors BASE.safetensors STEP DST.safetensors

A lent machine returns at most 8 files of 16 MiB; a full fp16 segflow-lite file is 10.5 MB, so several
snapshots do not fit. A run from ``--init BASE`` with one branch frozen changes only that branch's
tensors: ``pack`` keeps, for every RUN_DIR/weights-stepN.safetensors (``segflow train
--keep-snapshots``), the tensors that differ from BASE as "stepN/NAME", and the snapshots' cards in
OUT.json. ``apply`` writes BASE with step N's tensors put back, its safetensors metadata (architecture,
config) and its card (sha256 of the new file): every tensor bit for bit the snapshot's (the file's bytes
can differ: safetensors writes the metadata map in no fixed order). scripts/gpu_lease.sh uses ``pack``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path


def pack(run: Path, base: Path, out: Path) -> dict[int, int]:
    """Returns {step: number of tensors that differ from BASE}."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    ref = load_file(str(base))
    packed, cards, meta, counts = {}, {}, {}, {}
    for f in sorted(run.glob("weights-step*.safetensors"), key=lambda p: int(re.search(r"step(\d+)", p.name).group(1))):
        n = int(re.search(r"step(\d+)", f.name).group(1))
        sd = load_file(str(f))
        diff = [k for k in sd if k not in ref or sd[k].shape != ref[k].shape or not torch.equal(sd[k], ref[k])]
        packed.update({f"step{n}/{k}": sd[k].contiguous() for k in diff})
        with safe_open(str(f), "pt") as h:
            meta[str(n)] = h.metadata()
        cards[str(n)] = json.loads(f.with_suffix(".json").read_text())
        counts[n] = len(diff)
    if not counts:
        raise SystemExit(f"no weights-stepN.safetensors in {run}; train with --keep-snapshots")
    out = Path(out)
    save_file(packed, str(out.with_suffix(".safetensors")), metadata={"snapshot_metadata": json.dumps(meta)})
    out.with_suffix(".json").write_text(json.dumps(cards, indent=1) + "\n")
    return counts


def apply(packed: Path, base: Path, step: int, dst: Path) -> None:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from segflow_cli.weights import sha256_of

    sd, prefix = load_file(str(base)), f"step{step}/"
    with safe_open(str(packed), "pt") as h:
        meta = json.loads(h.metadata()["snapshot_metadata"])
        if str(step) not in meta:
            raise SystemExit(f"step {step} is not in {packed}; it holds steps {', '.join(sorted(meta, key=int))}")
        sd.update({k[len(prefix):]: h.get_tensor(k) for k in h.keys() if k.startswith(prefix)})
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(dst), metadata=meta[str(step)])
    card = json.loads(Path(packed).with_suffix(".json").read_text())[str(step)]
    card.update(name=dst.stem, file=dst.name, sha256=sha256_of(dst))
    dst.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack")
    a.add_argument("run", type=Path)
    a.add_argument("base", type=Path)
    a.add_argument("out", type=Path)
    b = sub.add_parser("apply")
    b.add_argument("packed", type=Path)
    b.add_argument("base", type=Path)
    b.add_argument("step", type=int)
    b.add_argument("dst", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "pack":
        for n, k in pack(args.run, args.base, args.out).items():
            print(f"step {n}: {k} tensors differ from {args.base.name}")
    else:
        apply(args.packed, args.base, args.step, args.dst)
        print(f"wrote {args.dst}")


if __name__ == "__main__":
    main()
