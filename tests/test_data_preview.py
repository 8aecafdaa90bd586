"""`segflow data preview` and user texture folders."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.data import SceneConfig, generate_scene
from segflow_cli.data.textures import random_photo
from segflow_cli.io.flo import read_flo
from segflow_cli.io.images import read_image, write_image
from segflow_cli.io.masks import read_mask

runner = CliRunner()


def test_preview_writes_the_promised_files(tmp_path):
    out = tmp_path / "pv"
    res = runner.invoke(app, ["data", "preview", "--out", str(out), "--count", "2", "--frames", "3",
                              "--size", "64x48", "--seed", "4"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["00000", "00001"]
    names = {p.name for p in (out / "00001").iterdir()}
    assert {f"frame_{t:02d}.png" for t in range(3)} | {f"mask_{t:02d}.png" for t in range(3)} <= names
    assert {f"flow_{t:02d}.flo" for t in range(2)} | {f"valid_{t:02d}.png" for t in range(2)} <= names
    assert "flow_02.flo" not in names
    # the files hold exactly the generated scene (default tracking is on for > 2 frames)
    s = generate_scene(SceneConfig(size=(64, 48), frames=3, tracking=True), 4, index=1)
    assert np.array_equal(read_image(out / "00001/frame_02.png"), s.frames[2])
    assert np.array_equal(read_flo(out / "00001/flow_01.flo"), s.flows[1])
    assert np.array_equal(read_mask(out / "00001/mask_00.png"), s.masks[0])
    assert np.array_equal(read_image(out / "00001/valid_00.png")[..., 0] > 127, s.valid[0])
    assert not list(out.glob(".*"))  # no temporary leftovers


def test_bad_size_is_a_one_line_error(tmp_path):
    for size in ("64by48", "0x10", "8x8"):
        res = runner.invoke(app, ["data", "preview", "--out", str(tmp_path / "x"), "--size", size])
        assert res.exit_code == 2
        assert res.output.strip().startswith("error:") and len(res.output.strip().splitlines()) == 1
        assert "Traceback" not in res.output
    assert not (tmp_path / "x").exists()


def test_texture_folder_is_used_and_checked(tmp_path):
    pics = tmp_path / "pics"
    img = np.zeros((40, 50, 3), np.uint8)
    img[..., 1] = 200
    write_image(pics / "green.png", img)
    photo = random_photo(np.random.default_rng(0), builtin=False, dirs=(str(pics),))
    assert photo is not None and np.array_equal(photo, img)
    cfg = SceneConfig(size=(48, 32), photo_dirs=(str(pics),), builtin_photos=False, photo_prob=1.0)
    assert generate_scene(cfg, 0).frames.shape == (2, 32, 48, 3)
    res = runner.invoke(app, ["data", "preview", "--out", str(tmp_path / "o"), "--count", "1",
                              "--size", "48x32", "--textures", str(pics)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["data", "preview", "--out", str(tmp_path / "o2"), "--textures", str(tmp_path / "none")])
    assert res.exit_code == 2 and "texture folder" in res.output and not (tmp_path / "o2").exists()
