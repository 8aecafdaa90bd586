"""Plain OpenCV DIS (medium) on the shared flow pairs, with the frames made grey two ways.

    python benchmarks/plain_dis_check.py [../shared/data/flow]

`IMREAD_GRAYSCALE` (libpng's own RGB->grey rounding) vs `cvtColor(RGB2GRAY)` on the RGB frames
(what segflow does: it only ever holds RGB video frames). The two differ by one grey level on
about half the pixels; DIS's EPE moves with that on the large-motion pair (Sintel market_5 clean).
EPE over pixels not marked invalid (invalid.png, unknown flow), occluded pixels included.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from segflow_cli.io import read_flo


def main(root: Path) -> None:
    pairs = sorted({p.parent for p in root.rglob("frame1.png")})
    rows = []
    for d in pairs:
        a, b = (cv2.imread(str(d / f), cv2.IMREAD_GRAYSCALE) for f in ("frame1.png", "frame2.png"))
        a3, b3 = (cv2.cvtColor(cv2.imread(str(d / f))[:, :, ::-1], cv2.COLOR_RGB2GRAY) for f in ("frame1.png", "frame2.png"))
        gt = read_flo(d / "flow.flo")
        valid = np.isfinite(gt).all(-1) & (np.abs(gt) < 1e9).all(-1)
        if (d / "invalid.png").exists():
            valid &= cv2.imread(str(d / "invalid.png"), cv2.IMREAD_GRAYSCALE) == 0
        epe = []
        for x, y in ((a, b), (a3, b3)):
            f = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(x, y, None)
            epe.append(float(np.linalg.norm(f - gt, axis=-1)[valid].mean()))
        rows.append(epe)
        print(f"{d.relative_to(root)!s:32s} imread-grey {epe[0]:7.3f}  cvtColor {epe[1]:7.3f}  "
              f"grey differs on {float((a != a3).mean()):.0%} of pixels")
    m = np.mean(rows, 0)
    print(f"{len(rows)} pairs: mean EPE imread-grey {m[0]:.3f}, cvtColor {m[1]:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/flow"))
