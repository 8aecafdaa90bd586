"""Throughput of the scene generator on one core: ``python -m segflow_cli.data.bench [--count N]``.

Measures complete dataset items (generation plus conversion to tensors), as a DataLoader worker
produces them, with OpenCV and torch limited to one thread.
"""

from __future__ import annotations

import argparse
import time


def measure(*, count: int = 200, size: tuple[int, int] = (384, 320), frames: int = 2, seed: int = 0) -> float:
    """Samples per second for ``count`` scenes after one warm-up scene (photo bank loading)."""
    import cv2
    import torch

    from .config import SceneConfig
    from .synthetic import SyntheticScenes

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    ds = SyntheticScenes(SceneConfig(size=size, frames=frames), length=count + 1, seed=seed)
    ds[count]  # warm-up: loads the photo bank once, as each worker does
    start = time.perf_counter()
    for i in range(count):
        ds[i]
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--size", default="384x320", help="WIDTHxHEIGHT")
    p.add_argument("--frames", type=int, default=2)
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    rate = measure(count=args.count, size=(w, h), frames=args.frames)
    print(f"{rate:.1f} samples/s ({args.count} scenes, {w}x{h}, {args.frames} frames, 1 thread)")


if __name__ == "__main__":
    main()
