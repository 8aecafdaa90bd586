"""The shipped example clip: a slow, trackable synthetic scene written as mp4 + first-frame mask.

    python -m segflow_cli.data.example --out examples/   # writes orbit.mp4, orbit_mask.png

Tests call :func:`example_scene` directly to get the same clip with its ground-truth masks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import SceneConfig
from .scene import Scene, generate_scene

EXAMPLE = dict(
    max_translation=0.012, max_rotation=2.0, max_scale=0.02, max_shear=0.01, nonrigid=0.01,
    camera_translation=0.004, camera_rotation=0.3, camera_scale=0.005, camera_perspective=0.0,
    min_layers=2, max_layers=4, tracking=True, blur_prob=0.0, motion_blur_prob=0.0,
)


def example_scene(*, frames: int = 36, size: tuple[int, int] = (480, 270), seed: int = 5, **overrides) -> Scene:
    """A slowly moving scene (about 5 px per frame) in which the objects stay in view."""
    return generate_scene(SceneConfig(size=size, frames=frames, **{**EXAMPLE, **overrides}), seed)


def write_example(out: Path, *, name: str = "orbit", fps: float = 12.0, **kw) -> tuple[Path, Path]:
    from ..io import VideoWriter, write_mask

    scene = example_scene(**kw)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    h, w = scene.frames.shape[1:3]
    video, mask = out / f"{name}.mp4", out / f"{name}_mask.png"
    with VideoWriter(video, fps=fps, size=(w, h)) as writer:
        for frame in scene.frames:
            writer.write(frame)
    write_mask(mask, scene.masks[0])
    return video, mask


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("examples"))
    args = ap.parse_args()
    for p in write_example(args.out):
        print(p, p.stat().st_size, "bytes")
