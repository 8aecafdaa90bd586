"""Where the files of every real dataset lie, described once: the flow benchmark's pairs and the
training datasets (datasets.py) list them here, DAVIS training clips and the DAVIS benchmark
(eval/davis*.py) read the same tree through the functions below. No torch here.

Flow layouts (``dataset`` of ``list_pairs``: `benchmark flow --dataset`, `train --data KIND=PATH`):
- folder:     <root>/[<group>/]<pair>/frame1.*, frame2.* [, flow.flo] [, invalid.png: white = not scored]
- middlebury: <root>/other-data/<seq>/frame10.png, frame11.png + <root>/other-gt-flow/<seq>/flow10.flo
              (or flow10.flo beside the frames)
- sintel:     [<root>/Sintel/]training/{clean,final}/<scene>/frame_NNNN.png + training/flow/<scene>/frame_NNNN.flo
              [+ training/invalid/<scene>/frame_NNNN.png]
- chairs:     [<root>/FlyingChairs/]data/NNNNN_img1.ppm, NNNNN_img2.ppm, NNNNN_flow.flo; with
              FlyingChairs_train_val.txt the split's pairs (train: label 1, val: label 2), else all
- kitti:      [<root>/KittiFlow/]training/image_2/NNNNNN_10.png, NNNNNN_11.png + training/flow_occ/NNNNNN_10.png
- hd1k:       [<root>/hd1k/]hd1k_input/image_2/<seq>_<frame>.png + hd1k_flow_gt/flow_occ/<seq>_<frame>.png
              (consecutive frames of a sequence; the last flow of each has no next frame)
The bracketed dataset folder may be given or its parent (torchvision's convention).

DAVIS: <root>/JPEGImages/480p/<seq>/NNNNN.jpg, <root>/Annotations/480p/<seq>/NNNNN.png and
<root>/ImageSets/<year>/<split>.txt (one sequence a line); 2016 masks are one object (grey 0/255),
2017 masks palette ids with 255 as void.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ArgumentError, SegflowError

UNKNOWN_FLOW = 1e9  # Middlebury marks unknown flow with values above this
_IMG = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class FlowPair:
    """One pair: name, image paths, and a loader of its ground truth (flow (H, W, 2) float32, valid
    (H, W) bool), or None for a pair without one (folder and Middlebury pairs may have none)."""

    name: str
    image1: Path
    image2: Path
    truth: Callable[[], tuple[np.ndarray, np.ndarray]] | None


def read_flow_truth(flo: str | Path, invalid: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A .flo ground truth -> flow (H, W, 2) float32 with unknown values (not finite or above 1e9,
    Middlebury's "unknown") zeroed, and valid (H, W) bool. ``invalid``: an optional mask image
    whose white (>= 128 in any channel) pixels are excluded from scoring, as in Sintel's invalid/
    and the folder layout's invalid.png."""
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


def _dataset_folder(root: Path, name: str) -> Path:
    """The dataset folder itself, or its parent (torchvision's convention) -> the dataset folder."""
    return root / name if (root / name).is_dir() else root


def _folder(root: Path, split: str) -> list[FlowPair]:
    pairs = []
    for d in sorted({p.parent for p in root.rglob("frame1.*") if p.suffix.lower() in _IMG}):
        a, b = _find(d, "frame1"), _find(d, "frame2")
        if a and b:
            name = d.relative_to(root).as_posix() if d != root else d.name
            flo = d / "flow.flo"
            pairs.append(FlowPair(name, a, b, _flo_truth(flo, d / "invalid.png") if flo.is_file() else None))
    return pairs


def _middlebury(root: Path, split: str) -> list[FlowPair]:
    pairs = []
    for d in sorted({p.parent for p in root.rglob("frame10.png") if (p.parent / "frame11.png").is_file()}):
        flo = next((p for p in (d / "flow10.flo", root / "other-gt-flow" / d.name / "flow10.flo") if p.is_file()), None)
        pairs.append(FlowPair(d.name, d / "frame10.png", d / "frame11.png", None if flo is None else _flo_truth(flo, None)))
    return pairs


def _sintel(root: Path, split: str) -> list[FlowPair]:
    t = _dataset_folder(root, "Sintel") / "training"
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


def _chairs(root: Path, split: str) -> list[FlowPair]:
    root = _dataset_folder(root, "FlyingChairs")
    data = root / "data" if (root / "data").is_dir() else root
    flos = sorted(data.glob("*_flow.flo"))
    listing = root / "FlyingChairs_train_val.txt"
    if listing.is_file():
        labels, label = listing.read_text().split(), "1" if split == "train" else "2"
        flos = [f for f in flos if int(f.stem.split("_")[0]) - 1 < len(labels)
                and labels[int(f.stem.split("_")[0]) - 1] == label]
    pairs = []
    for flo in flos:
        n = flo.stem.split("_")[0]
        a, b = _find(data, f"{n}_img1"), _find(data, f"{n}_img2")
        if a and b:
            pairs.append(FlowPair(n, a, b, _flo_truth(flo, None)))
    return pairs


def _kitti(root: Path, split: str) -> list[FlowPair]:
    t = _dataset_folder(root, "KittiFlow") / "training"
    return [FlowPair(gt.stem, t / "image_2" / gt.name, t / "image_2" / gt.name.replace("_10", "_11"), _kitti_truth(gt))
            for gt in sorted((t / "flow_occ").glob("*_10.png"))]


def _hd1k(root: Path, split: str) -> list[FlowPair]:
    root = _dataset_folder(root, "hd1k")
    flows = sorted((root / "hd1k_flow_gt" / "flow_occ").glob("*_*.png"))
    pairs = []
    for seq, group in groupby(flows, key=lambda p: p.stem.split("_")[0]):
        group = list(group)
        images = sorted((root / "hd1k_input" / "image_2").glob(f"{seq}_*.png"))
        pairs += [FlowPair(f.stem, images[i], images[i + 1], _kitti_truth(f))
                  for i, f in enumerate(group[:-1]) if i + 1 < len(images)]
    return pairs


FLOW_LAYOUTS = {"folder": _folder, "middlebury": _middlebury, "sintel": _sintel, "chairs": _chairs,
                "kitti": _kitti, "hd1k": _hd1k}
DATASETS = tuple(FLOW_LAYOUTS)


def list_pairs(dataset: str, root: Path, *, split: str = "val", labelled: bool = True) -> list[FlowPair]:
    """All pairs of ``dataset`` (one of DATASETS) under ``root`` in a stable order; with ``labelled``
    only those with ground truth. ``split``: chairs' split (train or val); the other flow sets have
    ground truth for their training split only, which is what they list. A one-line error if none."""
    if dataset not in FLOW_LAYOUTS:
        raise ArgumentError("dataset", dataset, f"unknown layout; choose one of {', '.join(DATASETS)}")
    root = Path(root)
    if not root.is_dir():
        raise ArgumentError("root", root, "not a folder", fix="give the dataset's folder")
    pairs = [p for p in FLOW_LAYOUTS[dataset](root, split) if p.truth is not None or not labelled]
    if not pairs:
        msg = f"no {dataset} flow pairs found under {root}"
        raise SegflowError(f"{msg}; see segflow_cli.data.layouts for the expected layout",
                           cli=f"{msg}; see `segflow benchmark flow --help` for the expected layout")
    return pairs


# ---------------------------------------------------------------------------------------------- DAVIS

DAVIS_RESOLUTION = "480p"


def davis_frames(root: Path, sequence: str = "", resolution: str = DAVIS_RESOLUTION) -> Path:
    """The folder of a sequence's JPEG frames (all sequences' folder when ``sequence`` is empty)."""
    return Path(root) / "JPEGImages" / resolution / sequence


def davis_annotations(root: Path, sequence: str = "", resolution: str = DAVIS_RESOLUTION) -> Path:
    """The folder of a sequence's annotation PNGs (all sequences' folder when ``sequence`` is empty)."""
    return Path(root) / "Annotations" / resolution / sequence


def davis_image_set(root: Path, year: str, split: str) -> Path:
    """ImageSets/<year>/<split>.txt: the split's sequence names, one a line."""
    return Path(root) / "ImageSets" / str(year) / f"{split}.txt"


def read_image_set(path: Path) -> list[str]:
    """The sequence names an ImageSets file lists (the first field of each non-empty line)."""
    return [s.split()[0].strip("/") for s in Path(path).read_text().splitlines() if s.strip()]


def davis_year(root: Path) -> str:
    """2017 when the tree has ImageSets/2017, else 2016."""
    return "2017" if (Path(root) / "ImageSets" / "2017").is_dir() else "2016"


def davis_objects(mask: np.ndarray, year: str) -> np.ndarray:
    """A read annotation (H, W) -> object ids: one object for 2016, 255 (void) -> background for 2017."""
    return (mask > 0).astype(np.uint8) if str(year) == "2016" else np.where(mask == 255, 0, mask).astype(np.uint8)
