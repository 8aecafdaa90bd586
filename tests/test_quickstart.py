"""The README's quick-start command, as written there, with the shipped weights at its default
settings: it must produce what the README promises and follow the example's objects."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _quickstart_command() -> list[str]:
    """The segment command of the README's first code block (after ``install.sh &&``)."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)\n```", readme, re.S).group(1)
    cmd = block.split("&&", 1)[1].strip()
    args = shlex.split(cmd)
    assert args[0].endswith("/segflow") and args[1] == "segment", cmd
    return args[1:]


def test_the_readme_quick_start_follows_the_example(tmp_path):
    from segflow_cli.data.example import example_scene
    from segflow_cli.eval.davis_metrics import region_similarity
    from segflow_cli.io import open_frames, read_mask

    args = _quickstart_command()
    out = tmp_path / "out"
    args = [str(REPO / a) if a.startswith("examples/") else a for a in args]
    args[args.index("--out") + 1] = str(out)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    res = subprocess.run([sys.executable, "-m", "segflow_cli.cli", *args], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr
    assert re.search(r"36 frames 480x270 in .* frames/s", res.stdout), res.stdout
    masks = sorted((out / "masks").glob("*.png"))
    assert [m.name for m in masks] == [f"{i:05d}.png" for i in range(36)]
    for video in ("overlay.mp4", "flow.mp4"):
        with open_frames(out / video) as src:
            assert sum(1 for _ in src) == 36 and src.size == (480, 270)
    scene = example_scene()  # the clip examples/orbit.mp4 was written from, with its exact masks
    ids = [int(i) for i in np.unique(scene.masks[0]) if i]
    j = [np.mean([region_similarity(scene.masks[t] == i, read_mask(masks[t]) == i) for i in ids]) for t in range(1, 36)]
    assert np.mean(j) > 0.8 and min(j) > 0.7  # measured: mean 0.89, last 0.83, np.round(j, 2)
