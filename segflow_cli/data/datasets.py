"""Real datasets in the one sample format of the data engine.

Every item is a dict: 'frames' (T, 3, H, W) float32 in [0, 1]; optionally 'flows' (T-1, 2, H, W)
float32 (frame t -> t+1, pixels), 'valid' (T-1, H, W) bool and 'masks' (T, H, W) int64 ids.
Loaders: DAVIS 2016/2017 trees (DavisClips) and the flow layouts folder, Middlebury, Sintel,
FlyingChairs, KITTI and HD1K (FlowPairs). Where their files lie is layouts.py, the same listing the
benchmarks read (flow pairs, the DAVIS tree), ground truth included (layouts.read_flow_truth:
unknown values, invalid.png; the KITTI 16-bit PNG reader).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import SegflowError
from .layouts import (
    DATASETS as FLOW_DATASETS, FlowPair, davis_annotations, davis_frames, davis_image_set, davis_objects, davis_year,
    list_pairs, read_image_set,
)
from .resize import FitCrop


def _image(path: Path) -> torch.Tensor:
    from ..io.images import read_image

    return torch.from_numpy(np.ascontiguousarray(read_image(str(path)))).permute(2, 0, 1).float().div_(255)


class DavisClips(Dataset):
    """Windows of ``frames`` consecutive frames of every sequence of a DAVIS split (the tree and its
    masks as layouts.py reads them; all sequences when the split has no ImageSets file)."""

    def __init__(self, root: str | Path, *, year: str = "2016", split: str = "val", frames: int = 2,
                 resolution: str = "480p") -> None:
        self.root, self.year, self.res = Path(root), str(year), resolution
        images = davis_frames(self.root, resolution=resolution)
        if not images.is_dir():
            raise SegflowError(f"{root}: no JPEGImages/{resolution}; pass the root of a DAVIS tree")
        listing = davis_image_set(self.root, self.year, split)
        seqs = read_image_set(listing) if listing.is_file() else sorted(p.name for p in images.iterdir() if p.is_dir())
        self.clips: list[tuple[list[Path], list[Path]]] = []
        for seq in seqs:
            jpgs = sorted(davis_frames(self.root, seq, resolution).glob("*.jpg"))
            pngs = [davis_annotations(self.root, seq, resolution) / (p.stem + ".png") for p in jpgs]
            for s in range(len(jpgs) - frames + 1):
                self.clips.append((jpgs[s:s + frames], pngs[s:s + frames]))
        if not self.clips:
            raise SegflowError(f"{root}: no DAVIS sequences with {frames}+ frames in split {split!r}")

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        from ..io.masks import read_mask

        jpgs, pngs = self.clips[index]
        out = {"frames": torch.stack([_image(p) for p in jpgs])}
        if all(p.is_file() for p in pngs):
            masks = np.stack([davis_objects(read_mask(str(p)), self.year) for p in pngs]).astype(np.int64)
            out["masks"] = torch.from_numpy(masks)
        return out


class FlowPairs(Dataset):
    """The pairs of a flow layout (layouts.list_pairs, labelled or not) as two-frame clips, with
    'flows' and 'valid' where the pair has ground truth."""

    def __init__(self, pairs: list[FlowPair]) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        pair = self.pairs[index]
        out = {"frames": torch.stack([_image(pair.image1), _image(pair.image2)])}
        if pair.truth is not None:
            flow, valid = pair.truth()
            out.update(flows=torch.from_numpy(np.ascontiguousarray(flow)).permute(2, 0, 1).contiguous()[None],
                       valid=torch.from_numpy(np.asarray(valid, bool))[None])
        return out


class FolderPairs(FlowPairs):
    """Every folder under ``root`` (recursive, ``root`` included) holding frame1 and frame2 images,
    with flow.flo (frame1 -> frame2) and invalid.png (white = excluded) when present."""

    def __init__(self, root: str | Path) -> None:
        super().__init__(list_pairs("folder", Path(root), labelled=False))
        self.dirs = [p.image1.parent for p in self.pairs]


KINDS = ("davis", *FLOW_DATASETS)


def load(kind: str, path: str | Path, *, split: str = "train", frames: int = 2) -> Dataset:
    """One dataset by name (see KINDS) at native resolution. Flow sets: their pairs under ``path``
    (layouts.py; Sintel both passes, chairs the ``split``), unlabelled folder/Middlebury pairs included."""
    if kind == "davis":
        return DavisClips(path, year=davis_year(Path(path)), split=split, frames=frames)
    if kind not in FLOW_DATASETS:
        raise SegflowError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")
    return FlowPairs(list_pairs(kind, Path(path), split=split, labelled=False))


def training_clips(kind: str, path: str | Path, *, size: tuple[int, int], frames: int = 2, seed: int = 0) -> Dataset:
    """A training split at a fixed (W, H): scaled to cover ``size`` (aspect kept, random extra
    zoom) and randomly cropped, flow rescaled to match, so items batch with synthetic scenes."""
    return FitCrop(load(kind, path, split="train", frames=frames), size=size, seed=seed)
