"""Write generated scenes as files a person can inspect (and other tools can read back).

Layout per scene i: OUT/NNNNN/frame_XX.png (RGB), flow_XX.flo (frame XX -> XX+1, Middlebury),
flow_XX.png (colour-wheel view of it), valid_XX.png (white = valid), mask_XX.png (DAVIS palette ids).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .config import SceneConfig
from .scene import Scene, generate_scene


def write_scene(scene: Scene, folder: Path) -> None:
    """Write one scene into ``folder`` atomically: files go to a hidden sibling that is renamed
    into place at the end, so an interrupted run never leaves a half-written scene."""
    from ..io import flow_to_color, write_flo, write_image, write_mask

    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for t, frame in enumerate(scene.frames):
            write_image(tmp / f"frame_{t:02d}.png", frame)
            write_mask(tmp / f"mask_{t:02d}.png", scene.masks[t])
        for t, flow in enumerate(scene.flows):
            write_flo(tmp / f"flow_{t:02d}.flo", flow)
            write_image(tmp / f"flow_{t:02d}.png", flow_to_color(flow))
            valid = np.repeat((scene.valid[t] * np.uint8(255))[..., None], 3, axis=2)
            write_image(tmp / f"valid_{t:02d}.png", valid)
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_preview(out: str | Path, cfg: SceneConfig, *, count: int, seed: int = 0) -> list[Path]:
    """Generate scenes (seed, 0..count-1) and write each to OUT/NNNNN; returns the folders."""
    from ..errors import SegflowError

    if count < 1:
        raise SegflowError(f"--count {count}: write at least one scene")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = []
    for i in range(count):
        folder = out / f"{i:05d}"
        write_scene(generate_scene(cfg, seed, index=i), folder)
        folders.append(folder)
    return folders
