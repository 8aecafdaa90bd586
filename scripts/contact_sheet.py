"""Contact sheet of a `segflow segment` run: evenly spaced frames of OUT/overlay.mp4 in one PNG.

    python scripts/contact_sheet.py OUT/ sheet.png --frames 6 --width 320 --title "01_dog.mp4"
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from segflow_cli.io import open_frames


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a segment output folder (holds overlay.mp4)")
    p.add_argument("png")
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--width", type=int, default=320, help="width of each tile")
    p.add_argument("--cols", type=int, default=3)
    p.add_argument("--title", default="")
    args = p.parse_args(argv)
    with open_frames(f"{args.run}/overlay.mp4") as src:
        frames = list(src)
    picks = np.linspace(0, len(frames) - 1, args.frames).round().astype(int)
    tiles = []
    for i in picks:
        f = frames[i]
        h = round(f.shape[0] * args.width / f.shape[1])
        t = cv2.resize(f, (args.width, h), interpolation=cv2.INTER_AREA)
        cv2.putText(t, f"{args.title} frame {i}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(t)
    while len(tiles) % args.cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[r:r + args.cols], 1) for r in range(0, len(tiles), args.cols)]
    cv2.imwrite(args.png, np.concatenate(rows, 0)[..., ::-1])
    print(f"wrote {args.png} ({len(picks)} frames of {len(frames)})")


if __name__ == "__main__":
    main()
