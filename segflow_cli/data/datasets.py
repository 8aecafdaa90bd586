"""Real datasets in the one sample format of the data engine.

Every item is a dict: 'frames' (T, 3, H, W) float32 in [0, 1]; optionally 'flows' (T-1, 2, H, W)
float32 (frame t -> t+1, pixels), 'valid' (T-1, H, W) bool and 'masks' (T, H, W) int64 ids.
Loaders: DAVIS 2016/2017 trees, folders of pairs (frame1.png, frame2.png, flow.flo[, invalid.png]),
Middlebury folders and torchvision's FlyingChairs, Sintel, KittiFlow and HD1K (wrapped).
Flow ground truth (unknown values, invalid.png) is read by flow_pairs.read_flow_truth, the same
function the flow benchmark's pairs use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

from ..errors import SegflowError
from .flow_pairs import read_flow_truth
from .resize import FitCrop


def _image(path: Path) -> torch.Tensor:
    from ..io.images import read_image

    return torch.from_numpy(np.ascontiguousarray(read_image(str(path)))).permute(2, 0, 1).float().div_(255)


def _pair(im1: Path, im2: Path, flo: Path | None, invalid: Path | None = None) -> dict:
    out = {"frames": torch.stack([_image(im1), _image(im2)])}
    if flo is not None:
        flow, valid = read_flow_truth(flo, invalid)
        out.update(flows=torch.from_numpy(flow).permute(2, 0, 1).contiguous()[None], valid=torch.from_numpy(valid)[None])
    return out


class DavisClips(Dataset):
    """Windows of ``frames`` consecutive frames of every sequence of a DAVIS split.

    Layout: root/JPEGImages/<res>/<seq>/*.jpg, root/Annotations/<res>/<seq>/*.png and
    root/ImageSets/<year>/<split>.txt (one sequence name per line; all sequences when absent).
    DAVIS 2016 masks (grey 0/255) become id 1; DAVIS 2017 palette indices are object ids.
    """

    def __init__(self, root: str | Path, *, year: str = "2016", split: str = "val", frames: int = 2,
                 resolution: str = "480p") -> None:
        self.root, self.year, self.res = Path(root), str(year), resolution
        images = self.root / "JPEGImages" / resolution
        if not images.is_dir():
            raise SegflowError(f"{root}: no JPEGImages/{resolution}; pass the root of a DAVIS tree")
        listing = self.root / "ImageSets" / self.year / f"{split}.txt"
        if listing.is_file():
            seqs = [s.split()[0].strip("/") for s in listing.read_text().splitlines() if s.strip()]
        else:
            seqs = sorted(p.name for p in images.iterdir() if p.is_dir())
        self.clips: list[tuple[list[Path], list[Path]]] = []
        for seq in seqs:
            jpgs = sorted((images / seq).glob("*.jpg"))
            pngs = [self.root / "Annotations" / resolution / seq / (p.stem + ".png") for p in jpgs]
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
            masks = np.stack([read_mask(str(p)) for p in pngs]).astype(np.int64)
            out["masks"] = torch.from_numpy((masks > 0).astype(np.int64) if self.year == "2016" else masks)
        return out


class FolderPairs(Dataset):
    """Every folder under ``root`` (recursive, ``root`` included) holding frame1.png and frame2.png,
    with flow.flo (frame1 -> frame2) and invalid.png (white = excluded) when present."""

    def __init__(self, root: str | Path) -> None:
        root = Path(root)
        if not root.is_dir():
            raise SegflowError(f"{root}: not a folder; pass a folder of <pair>/frame1.png, frame2.png, flow.flo")
        self.dirs = sorted({p.parent for p in root.rglob("frame1.png") if (p.parent / "frame2.png").is_file()})
        if not self.dirs:
            raise SegflowError(f"{root}: no <pair>/frame1.png + frame2.png folders found")

    def __len__(self) -> int:
        return len(self.dirs)

    def __getitem__(self, index: int) -> dict:
        d = self.dirs[index]
        flo, inv = d / "flow.flo", d / "invalid.png"
        return _pair(d / "frame1.png", d / "frame2.png", flo if flo.is_file() else None,
                     inv if inv.is_file() else None)


class MiddleburyPairs(Dataset):
    """Middlebury folders: <seq>/frame10.png + frame11.png with the flow either beside them
    (flow10.flo) or in the official other-gt-flow/<seq>/flow10.flo."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.dirs = sorted({p.parent for p in self.root.rglob("frame10.png") if (p.parent / "frame11.png").is_file()})
        if not self.dirs:
            raise SegflowError(f"{root}: no <seq>/frame10.png + frame11.png folders (Middlebury layout)")

    def __len__(self) -> int:
        return len(self.dirs)

    def __getitem__(self, index: int) -> dict:
        d = self.dirs[index]
        flo = next((p for p in (d / "flow10.flo", self.root / "other-gt-flow" / d.name / "flow10.flo")
                    if p.is_file()), None)
        return _pair(d / "frame10.png", d / "frame11.png", flo)


class TorchvisionFlow(Dataset):
    """Wraps a ``torchvision.datasets`` flow dataset (PIL images, (2, H, W) flow, optional valid)."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict:
        item = self.base[index]
        frames = torch.stack([torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1) for im in item[:2]])
        out = {"frames": frames.float().div_(255)}
        if item[2] is not None:
            flow = torch.as_tensor(np.asarray(item[2], np.float32))
            valid = torch.as_tensor(np.asarray(item[3])) if len(item) > 3 else torch.ones(flow.shape[1:], dtype=torch.bool)
            out.update(flows=flow[None], valid=valid.bool()[None])
        return out


def _kitti_flow(path: str) -> tuple[np.ndarray, np.ndarray]:
    from ..io.kitti import read_kitti_flow

    flow, valid = read_kitti_flow(path)
    return flow.transpose(2, 0, 1), valid


_TV = {"chairs": ("FlyingChairs", "FlyingChairs"), "sintel": ("Sintel", "Sintel"),
       "kitti": ("KittiFlow", "KittiFlow"), "hd1k": ("HD1K", "hd1k")}


def torchvision_flow(kind: str, root: str | Path, *, split: str = "train", pass_name: str = "clean") -> TorchvisionFlow:
    """chairs | sintel | kitti | hd1k through torchvision. ``root`` may be the folder that holds
    the dataset folder (torchvision's convention) or the dataset folder itself."""
    import torchvision.datasets as tvd

    cls_name, folder = _TV[kind]
    root = Path(root)
    if root.name == folder and not (root / folder).is_dir():
        root = root.parent
    kwargs = {"pass_name": pass_name} if kind == "sintel" else {}
    try:
        base = getattr(tvd, cls_name)(str(root), split=split, **kwargs)
    except (OSError, ValueError) as exc:
        raise SegflowError(f"{kind} at {root}: {exc}; expected {root}/{folder}/... as torchvision lays it out") from None
    if kind in ("kitti", "hd1k"):  # our 16-bit PNG reader, not torchvision's deprecated decode_png
        base._read_flow = _kitti_flow
    if len(base) == 0:
        raise SegflowError(f"{kind} at {root}: no pairs found; expected {root}/{folder}/... as torchvision lays it out")
    return TorchvisionFlow(base)


KINDS = ("davis", "sintel", "chairs", "kitti", "hd1k", "folder", "middlebury")


def load(kind: str, path: str | Path, *, split: str = "train", frames: int = 2) -> Dataset:
    """One dataset by name (see KINDS) at native resolution."""
    if kind == "davis":
        year = "2017" if (Path(path) / "ImageSets" / "2017").is_dir() else "2016"
        return DavisClips(path, year=year, split=split, frames=frames)
    if kind == "sintel":
        return ConcatDataset([torchvision_flow("sintel", path, split=split, pass_name=p) for p in ("clean", "final")])
    if kind in _TV:
        return torchvision_flow(kind, path, split=split)
    if kind == "folder":
        return FolderPairs(path)
    if kind == "middlebury":
        return MiddleburyPairs(path)
    raise SegflowError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")


def training_clips(kind: str, path: str | Path, *, size: tuple[int, int], frames: int = 2, seed: int = 0) -> Dataset:
    """A training split at a fixed (W, H): scaled to cover ``size`` (aspect kept, random extra
    zoom) and randomly cropped, flow rescaled to match, so items batch with synthetic scenes."""
    return FitCrop(load(kind, path, split="train", frames=frames), size=size, seed=seed)
