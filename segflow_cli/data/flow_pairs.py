"""Flow benchmark pairs (name, image files, ground truth) from the usual dataset layouts.

The data layer's view for scoring: each pair keeps its name and files so a benchmark reports per
pair; ground truth is read with read_flow_truth (unknown flow and invalid.png; datasets.py's training
sets read it with the same function) or the KITTI 16-bit PNG reader.

Layouts (``--dataset``):
- folder:     <root>/[<group>/]<pair>/frame1.*, frame2.*, flow.flo [, invalid.png: white = not scored]
- middlebury: <root>/other-data/<seq>/frame10.png, frame11.png + <root>/other-gt-flow/<seq>/flow10.flo
- sintel:     <root>/training/{clean,final}/<scene>/frame_NNNN.png + training/flow/<scene>/frame_NNNN.flo
              [+ training/invalid/<scene>/frame_NNNN.png]
- chairs:     <root>/data/NNNNN_img1.ppm, NNNNN_img2.ppm, NNNNN_flow.flo (the validation split when
              <root>/FlyingChairs_train_val.txt is there, label 2)
- kitti:      <root>/training/image_2/NNNNNN_10.png, NNNNNN_11.png + training/flow_occ/NNNNNN_10.png
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ArgumentError, SegflowError

DATASETS = ("folder", "middlebury", "sintel", "chairs", "kitti")
UNKNOWN_FLOW = 1e9  # Middlebury marks unknown flow with values above this
_IMG = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class FlowPair:
    """One scored pair: name, image paths, and a loader of (flow (H, W, 2) float32, valid (H, W) bool)."""

    name: str
    image1: Path
    image2: Path
    truth: Callable[[], tuple[np.ndarray, np.ndarray]]


def read_flow_truth(flo: str | Path, invalid: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A .flo ground truth -> flow (H, W, 2) float32 with unknown values (not finite or above 1e9,
    Middlebury's "unknown") zeroed, and valid (H, W) bool. ``invalid``: an optional mask image
    whose white (>= 128 in any channel) pixels are excluded from scoring, as in Sintel's invalid/
    and the folder layout's invalid.png. Training (datasets.py) and the flow benchmark
    (this module's pairs) both read ground truth through this one function. No torch here."""
    from ..io.flo import read_flo

    f = read_flo(str(flo)).astype(np.float32)
    ok = np.isfinite(f).all(-1) & (np.abs(f) < UNKNOWN_FLOW).all(-1)
    f[~ok] = 0
    if invalid is not None and Path(invalid).is_file():
        from ..io.images import read_image

        bad = read_image(str(invalid))
        ok &= (bad.max(-1) if bad.ndim == 3 else bad) < 128
    return f, ok


def _flo_truth(flo: Path, invalid: Path | None):
    def load():
        return read_flow_truth(flo, invalid)

    return load


def _kitti_truth(png: Path):
    def load():
        from ..io import read_kitti_flow

        return read_kitti_flow(png)

    return load


def _find(folder: Path, stem: str) -> Path | None:
    for ext in _IMG:
        if (folder / f"{stem}{ext}").is_file():
            return folder / f"{stem}{ext}"
    return None


def _folder(root: Path) -> list[FlowPair]:
    dirs = sorted({p.parent for p in root.rglob("flow.flo")})
    pairs = []
    for d in dirs:
        a, b = _find(d, "frame1"), _find(d, "frame2")
        if a and b:
            name = d.relative_to(root).as_posix() if d != root else d.name
            pairs.append(FlowPair(name, a, b, _flo_truth(d / "flow.flo", d / "invalid.png")))
    return pairs


def _middlebury(root: Path) -> list[FlowPair]:
    gt = root / "other-gt-flow"
    return [FlowPair(d.name, root / "other-data" / d.name / "frame10.png", root / "other-data" / d.name / "frame11.png",
                     _flo_truth(d / "flow10.flo", None))
            for d in sorted(gt.glob("*")) if (d / "flow10.flo").is_file()]


def _sintel(root: Path) -> list[FlowPair]:
    t = root / "training"
    pairs = []
    for pass_ in ("clean", "final"):
        for flo in sorted((t / "flow").glob("*/*.flo")):
            scene, n = flo.parent.name, int(flo.stem.split("_")[1])
            a = t / pass_ / scene / f"frame_{n:04d}.png"
            b = t / pass_ / scene / f"frame_{n + 1:04d}.png"
            if a.is_file() and b.is_file():
                inv = t / "invalid" / scene / f"frame_{n:04d}.png"
                pairs.append(FlowPair(f"{pass_}/{scene}/{n:04d}", a, b, _flo_truth(flo, inv)))
    return pairs


def _chairs(root: Path) -> list[FlowPair]:
    data = root / "data" if (root / "data").is_dir() else root
    flos = sorted(data.glob("*_flow.flo"))
    split = root / "FlyingChairs_train_val.txt"
    if split.is_file():
        labels = split.read_text().split()
        flos = [f for f in flos if int(f.stem.split("_")[0]) - 1 < len(labels)
                and labels[int(f.stem.split("_")[0]) - 1] == "2"]
    pairs = []
    for flo in flos:
        n = flo.stem.split("_")[0]
        a, b = _find(data, f"{n}_img1"), _find(data, f"{n}_img2")
        if a and b:
            pairs.append(FlowPair(n, a, b, _flo_truth(flo, None)))
    return pairs


def _kitti(root: Path) -> list[FlowPair]:
    t = root / "training"
    return [FlowPair(gt.stem, t / "image_2" / gt.name, t / "image_2" / gt.name.replace("_10", "_11"), _kitti_truth(gt))
            for gt in sorted((t / "flow_occ").glob("*_10.png"))]


def list_pairs(dataset: str, root: Path) -> list[FlowPair]:
    """All pairs of ``dataset`` under ``root`` in a stable order; a one-line error if there are none."""
    finders = {"folder": _folder, "middlebury": _middlebury, "sintel": _sintel, "chairs": _chairs, "kitti": _kitti}
    if dataset not in finders:
        raise ArgumentError("dataset", dataset, f"unknown layout; choose one of {', '.join(DATASETS)}")
    if not root.is_dir():
        raise ArgumentError("root", root, "not a folder", fix="give the dataset's folder")
    pairs = finders[dataset](root)
    if not pairs:
        msg = f"no {dataset} flow pairs found under {root}"
        raise SegflowError(f"{msg}; see segflow_cli.data.flow_pairs for the expected layout",
                           cli=f"{msg}; see `segflow benchmark flow --help` for the expected layout")
    return pairs
