"""COCO-style instance masks for a video: ``{"images": [...], "annotations": [...], "categories": [...]}``.

One image per frame (``id`` = the input frame number), one annotation per object present in a frame
(``image_id`` = frame number, ``category_id`` = object id, ``segmentation`` = compressed RLE from
``pycocotools.mask.encode`` with ``counts`` as a str, ``area`` and ``bbox`` [x, y, w, h] from
pycocotools), one category per object id. ``pycocotools.coco.COCO`` and any COCO tool read it;
``pycocotools.mask.decode(ann["segmentation"])`` gives the object's binary mask back. An object
absent from a frame has no annotation there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import FormatError, SegflowError
from ._files import write_bytes_atomic


def _mask_api():
    try:
        from pycocotools import mask as mask_api
    except ImportError:
        raise SegflowError("the coco format needs pycocotools; install it (pip install pycocotools)") from None
    return mask_api


def encode_rle(binary: np.ndarray) -> dict:
    """(H, W) bool -> COCO compressed RLE {"size": [H, W], "counts": str} (JSON-ready)."""
    rle = _mask_api().encode(np.asfortranarray(np.asarray(binary, dtype=np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def decode_rle(rle: dict) -> np.ndarray:
    """COCO RLE (counts str or bytes) -> (H, W) bool."""
    import warnings

    rle = dict(rle)
    if isinstance(rle["counts"], str):
        rle["counts"] = rle["counts"].encode("ascii")
    with warnings.catch_warnings():  # pycocotools' decoder under numpy 2: a harmless copy= DeprecationWarning
        warnings.filterwarnings("ignore", message=".*__array__ implementation", category=DeprecationWarning)
        return _mask_api().decode(rle).astype(bool)


class CocoWriter:
    """Collect frames' id masks and write the COCO document once, atomically, on :meth:`close`
    (the RLEs are small: a few hundred bytes per object per frame)."""

    def __init__(self, path: str | Path, *, size: tuple[int, int], info: dict | None = None,
                 names: dict[int, str] | None = None) -> None:
        _mask_api()  # fail before the run, not at the end
        self.path, self.size = Path(path), (int(size[0]), int(size[1]))
        self.info = dict(info or {})
        self.names = dict(names or {})
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.object_ids: set[int] = set()

    def add(self, number: int, ids: np.ndarray, *, file_name: str | None = None) -> None:
        """Add frame ``number`` (the image id) with its (H, W) object-id mask."""
        mask_api = _mask_api()
        ids = np.asarray(ids)
        w, h = self.size
        if ids.shape != (h, w):
            raise FormatError(f"mask of frame {number} is {ids.shape[1]}x{ids.shape[0]}, the video {w}x{h}")
        self.images.append({"id": int(number), "file_name": file_name or f"{int(number):05d}.png",
                            "width": w, "height": h, "frame_index": int(number)})
        for obj in (int(v) for v in np.unique(ids) if v != 0):
            rle = mask_api.encode(np.asfortranarray((ids == obj).astype(np.uint8)))
            area, bbox = float(mask_api.area(rle)), [float(v) for v in mask_api.toBbox(rle)]
            rle["counts"] = rle["counts"].decode("ascii")
            self.object_ids.add(obj)
            self.annotations.append({"id": len(self.annotations) + 1, "image_id": int(number), "category_id": obj,
                                     "segmentation": rle, "area": area, "bbox": bbox, "iscrowd": 0})

    def document(self) -> dict:
        ids = sorted(self.object_ids | set(self.names))
        cats = [{"id": i, "name": self.names.get(i, f"object {i}"), "supercategory": "object"} for i in ids]
        return {"info": self.info, "images": self.images, "annotations": self.annotations, "categories": cats}

    def close(self) -> None:
        write_bytes_atomic(self.path, (json.dumps(self.document(), separators=(",", ":")) + "\n").encode())


def read_coco_masks(path: str | Path) -> dict[int, np.ndarray]:
    """A COCO document written by :class:`CocoWriter` -> {image id: (H, W) uint8 id mask}."""
    doc = json.loads(Path(path).read_text())
    masks = {img["id"]: np.zeros((img["height"], img["width"]), np.uint8) for img in doc["images"]}
    for ann in doc["annotations"]:
        masks[ann["image_id"]][decode_rle(ann["segmentation"])] = ann["category_id"]
    return masks
