"""`segflow flow A B`: files, formats, greyscale input, and one-line errors."""

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from segflow_cli.cli import app
from segflow_cli.io import read_flo, read_image, read_kitti_flow
from segflow_cli.models import segflow_lite
from segflow_cli.weights import save_weights

runner = CliRunner()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    import cv2

    d = tmp_path_factory.mktemp("pair")
    rng = np.random.default_rng(1)
    tex = cv2.GaussianBlur(rng.random((80, 120)).astype(np.float32), (0, 0), 2.0)
    tex = np.clip((tex - tex.mean()) * 1200 + 128, 0, 255).astype(np.uint8)
    Image.fromarray(tex[:, 4:104]).save(d / "a.png")  # greyscale PNGs: replicated to RGB
    Image.fromarray(tex[:, 0:100]).save(d / "b.png")  # b(x) = a(x - 4): the flow a -> b is +4
    torch.manual_seed(0)
    save_weights(segflow_lite(trunk_pretrained=False), d / "tiny.safetensors")
    return d


def test_writes_flo_png_kitti_npy(pair, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["flow", str(pair / "a.png"), str(pair / "b.png"), "--out", str(out),
                              "--weights", str(pair / "tiny.safetensors"), "--format", "kitti", "--format", "npy"])
    assert res.exit_code == 0, res.output
    flow = read_flo(out / "flow.flo")
    assert flow.shape == (80, 100, 2)
    # The untrained network returns its DIS warm start: a +4 px shift in the textured interior.
    assert abs(np.median(flow[20:60, 20:80, 0]) - 4.0) < 0.5 and abs(np.median(flow[20:60, 20:80, 1])) < 0.5
    assert read_image(out / "flow.png").shape == (80, 100, 3)
    kitti, valid = read_kitti_flow(out / "flow_kitti.png")
    assert valid.all() and np.abs(kitti - flow).max() <= 1 / 64
    assert np.array_equal(np.load(out / "flow.npy"), flow)


def test_errors_are_one_line(pair, tmp_path):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small.png")
    for args in (["flow", str(tmp_path / "nope.png"), str(pair / "b.png")],
                 ["flow", str(pair / "a.png"), str(tmp_path / "small.png")],
                 ["flow", str(pair / "a.png"), str(pair / "b.png"), "--format", "tiff"],
                 ["flow", str(pair / "a.png"), str(pair / "b.png"), "--weights", str(tmp_path / "no.safetensors")]):
        res = runner.invoke(app, [*args, "--out", str(tmp_path / "o")])
        assert res.exit_code != 0 and res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1, res.output
        assert not (tmp_path / "o").exists()
