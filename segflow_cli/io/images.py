"""Still images in and out: always (H, W, 3) uint8 RGB inside segflow.

OpenCV decodes (it honours EXIF orientation and keeps 16-bit depth so we can scale it
properly); Pillow is the fallback for formats an OpenCV build lacks (e.g. GIF).
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np

from ..errors import FormatError, SegflowError
from ._files import read_existing, write_bytes_atomic

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif")


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Scale 16-bit (0..65535) or float (0..1) pixels to uint8; uint8 passes through."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if img.dtype == bool:
        return img.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(img.dtype, np.floating):
        return np.rint(np.clip(np.nan_to_num(img), 0.0, 1.0) * 255).astype(np.uint8)
    raise FormatError(f"unsupported pixel type {img.dtype}; give an 8-bit, 16-bit or float image")


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode encoded image bytes into (H, W, 3) uint8 RGB; FormatError if they are not an image."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if bgr is not None:
        return np.ascontiguousarray(to_uint8(bgr)[:, :, ::-1])
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB")).copy()
    except UnidentifiedImageError:  # its message names the in-memory buffer, not the file: nothing to add
        raise FormatError(f"{name} is not an image OpenCV or Pillow can read; "
                          "give a png/jpg/bmp/tif/webp file") from None
    except (OSError, ValueError) as err:  # e.g. a truncated file: Pillow says what is wrong
        raise FormatError(f"{name} is not an image OpenCV or Pillow can read ({err}); "
                          "give a png/jpg/bmp/tif/webp file") from None


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB.

    Grey is replicated to 3 channels, alpha is dropped, 16-bit is scaled to 8-bit. A missing file
    raises SegflowError naming the path; a file that is not an image raises FormatError.
    """
    return decode_image(read_existing(path, "image"), str(path))


def read_alpha(path: str | Path) -> np.ndarray:
    """The alpha channel of an RGBA image file as (H, W) uint8 (255 everywhere when it has none)."""
    data = read_existing(path, "image")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FormatError(f"{path} is not an image OpenCV can read; give a png file")
    if img.ndim == 3 and img.shape[2] == 4:
        return np.ascontiguousarray(to_uint8(img[..., 3]))
    return np.full(img.shape[:2], 255, np.uint8)


def write_image(path: str | Path, image: np.ndarray, *, jpeg_quality: int = 95) -> None:
    """Write an image atomically; the format comes from the suffix (.png, .jpg, ...).

    ``image``: (H, W, 3) RGB or (H, W, 4) RGBA or (H, W) / (H, W, 1) grey; uint8, uint16
    (png/tif keep 16 bits) or bool (written as 0/255).
    """
    path = Path(path)
    img = np.asarray(image)
    if img.dtype == bool:
        img = img.astype(np.uint8) * np.uint8(255)
    if img.dtype not in (np.uint8, np.uint16):
        raise FormatError(f"write_image needs uint8/uint16/bool pixels, got {img.dtype}; convert first")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[:, :, ::-1]  # RGB -> BGR for OpenCV
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, [2, 1, 0, 3]]
    elif img.ndim != 2:
        raise FormatError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got {np.asarray(image).shape}")
    if path.suffix.lower() not in IMAGE_SUFFIXES[:-1]:
        raise SegflowError(f"cannot write {path}: unknown image suffix {path.suffix!r}; use .png or .jpg")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(path.suffix.lower(), np.ascontiguousarray(img), params)
    if not ok:
        raise FormatError(f"OpenCV could not encode a {img.dtype} {img.shape} image as {path.suffix}")
    write_bytes_atomic(path, buf.tobytes())
