"""Write generated scenes as files a person can inspect (and other tools can read back).

Layout per scene i: OUT/NNNNN/frame_XX.png (RGB), flow_XX.flo (frame XX -> XX+1, Middlebury),
flow_XX.png (colour-wheel view of it), valid_XX.png (white = valid), mask_XX.png (DAVIS palette ids).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .config import SceneConfig
from .scene import Scene, generate_scene


def write_scene(scene: Scene, folder: Path) -> None:
    """Write one scene into ``folder`` atomically: files go to a hidden sibling that is renamed
    into place at the end, so an interrupted run never leaves a half-written scene."""
    from ..io.flo import write_flo
    from ..io.flowviz import flow_to_color
    from ..io.images import write_image
    from ..io.masks import write_mask

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
            write_image(tmp / f"valid_{t:02d}.png", scene.valid[t])  # bool -> grey 0/255
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_preview(out: str | Path, cfg: SceneConfig, *, count: int, seed: int = 0) -> list[Path]:
    """Generate scenes (seed, 0..count-1) and write each to OUT/NNNNN; returns the folders."""
    from ..errors import ArgumentError

    if count < 1:
        raise ArgumentError("count", count, "write at least one scene")
    if cfg.photo_dirs:  # fail before creating anything when a texture folder is wrong
        from .textures import user_photo_paths

        user_photo_paths(cfg.photo_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = []
    for i in range(count):
        folder = out / f"{i:05d}"
        write_scene(generate_scene(cfg, seed, index=i), folder)
        folders.append(folder)
    return folders
