"""Real-dataset loaders on tiny fake trees built in tmp_path (no real data needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segflow_cli.data import datasets
from segflow_cli.data.resize import resize_sample
from segflow_cli.errors import SegflowError
from segflow_cli.io.flo import write_flo
from segflow_cli.io.images import write_image
from segflow_cli.io.masks import write_mask

W, H = 16, 12


def _img(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _flow(u: float, v: float) -> np.ndarray:
    return np.stack([np.full((H, W), u), np.full((H, W), v)], -1).astype(np.float32)


def test_davis2016_windows_and_binary_masks(tmp_path):
    for seq, n in (("bear", 3), ("cow", 2)):
        for i in range(n):
            write_image(tmp_path / "JPEGImages/480p" / seq / f"{i:05d}.jpg", _img(i))
            m = np.zeros((H, W), np.uint8)
            m[2:6, 3:9] = 255  # DAVIS 2016: grey 0/255
            write_image(tmp_path / "Annotations/480p" / seq / f"{i:05d}.png", m)
    (tmp_path / "ImageSets/2016").mkdir(parents=True)
    (tmp_path / "ImageSets/2016/val.txt").write_text("bear\ncow\n")
    ds = datasets.DavisClips(tmp_path, year="2016", split="val", frames=2)
    assert len(ds) == 3  # bear 0-1, 1-2; cow 0-1
    item = ds[0]
    assert item["frames"].shape == (2, 3, H, W) and item["frames"].dtype == torch.float32
    assert 0 <= item["frames"].min() and item["frames"].max() <= 1
    assert item["masks"].dtype == torch.int64 and set(item["masks"].unique().tolist()) == {0, 1}
    assert item["masks"][0, 3, 4] == 1 and item["masks"][0, 0, 0] == 0
    assert len(datasets.DavisClips(tmp_path, year="2016", split="val", frames=3)) == 1


def test_davis2017_palette_ids_through_load(tmp_path):
    for i in range(2):
        write_image(tmp_path / "JPEGImages/480p/judo" / f"{i:05d}.jpg", _img(i))
        m = np.zeros((H, W), np.uint8)
        m[:4, :4], m[6:, 8:] = 1, 2
        write_mask(tmp_path / "Annotations/480p/judo" / f"{i:05d}.png", m)
    (tmp_path / "ImageSets/2017").mkdir(parents=True)
    (tmp_path / "ImageSets/2017/train.txt").write_text("judo\n")
    item = datasets.load("davis", tmp_path, split="train")[0]
    assert set(item["masks"].unique().tolist()) == {0, 1, 2}


def test_folder_pairs_with_invalid_png(tmp_path):
    a = tmp_path / "chairs" / "0000"
    write_image(a / "frame1.png", _img(1))
    write_image(a / "frame2.png", _img(2))
    write_flo(a / "flow.flo", _flow(1.5, -2.0))
    inv = np.zeros((H, W), np.uint8)
    inv[:, :4] = 255  # white = excluded
    write_image(a / "invalid.png", inv)
    b = tmp_path / "other" / "pair"
    write_image(b / "frame1.png", _img(3))
    write_image(b / "frame2.png", _img(4))
    ds = datasets.FolderPairs(tmp_path)
    assert len(ds) == 2
    item = ds[0]
    assert item["flows"].shape == (1, 2, H, W)
    assert torch.allclose(item["flows"][0, :, 5, 5], torch.tensor([1.5, -2.0]))
    assert not item["valid"][0, :, :4].any() and item["valid"][0, :, 4:].all()
    assert torch.equal((item["frames"][0].permute(1, 2, 0) * 255).round().byte(), torch.from_numpy(_img(1)))
    assert "flows" not in ds[1]  # no ground truth there: frames only


def test_middlebury_layout_and_unknown_flow(tmp_path):
    write_image(tmp_path / "other-data/Grove3/frame10.png", _img(1))
    write_image(tmp_path / "other-data/Grove3/frame11.png", _img(2))
    f = _flow(0.5, 0.25)
    f[0, 0] = 1e10  # Middlebury "unknown"
    write_flo(tmp_path / "other-gt-flow/Grove3/flow10.flo", f)
    item = datasets.load("middlebury", tmp_path)[0]
    assert not item["valid"][0, 0, 0] and item["valid"][0].sum() == H * W - 1
    assert item["flows"][0, 0, 0, 0] == 0 and item["flows"][0, 0, 1, 1] == 0.5


def _chairs(root: Path) -> None:
    d = root / "FlyingChairs" / "data"
    d.mkdir(parents=True)
    for i in (1, 2):
        cv2.imwrite(str(d / f"{i:05d}_img1.ppm"), _img(i))
        cv2.imwrite(str(d / f"{i:05d}_img2.ppm"), _img(i + 10))
        write_flo(d / f"{i:05d}_flow.flo", _flow(i, 0))
    (root / "FlyingChairs" / "FlyingChairs_train_val.txt").write_text("1\n2\n")


def test_torchvision_chairs_and_root_forms(tmp_path):
    _chairs(tmp_path)
    for root in (tmp_path, tmp_path / "FlyingChairs"):  # parent folder or the dataset folder itself
        ds = datasets.load("chairs", root, split="train")
        assert len(ds) == 1
        item = ds[0]
        assert item["frames"].shape == (2, 3, H, W) and item["valid"].all()
        assert torch.allclose(item["flows"][0, 0], torch.ones(H, W))


def test_torchvision_sintel_both_passes(tmp_path):
    for p in ("clean", "final"):
        for i in (1, 2, 3):
            write_image(tmp_path / "Sintel/training" / p / "alley" / f"frame_{i:04d}.png", _img(i))
    for i in (1, 2):
        write_flo(tmp_path / "Sintel/training/flow/alley" / f"frame_{i:04d}.flo", _flow(0, i))
    ds = datasets.load("sintel", tmp_path)
    assert len(ds) == 4 and torch.allclose(ds[1]["flows"][0, 1], torch.full((H, W), 2.0))


def test_torchvision_kitti_sparse_valid(tmp_path):
    d = tmp_path / "KittiFlow" / "training"
    write_image(d / "image_2/000000_10.png", _img(1))
    write_image(d / "image_2/000000_11.png", _img(2))
    png = np.zeros((H, W, 3), np.uint16)  # RGB in the file: u, v, valid
    png[..., 0] = 2**15 + 64 * 3  # u = 3 px
    png[..., 1] = 2**15 - 64 * 1  # v = -1 px
    png[: H // 2, :, 2] = 1  # top half valid
    (d / "flow_occ").mkdir(parents=True)
    cv2.imwrite(str(d / "flow_occ/000000_10.png"), np.ascontiguousarray(png[..., ::-1]))
    item = datasets.load("kitti", tmp_path)[0]
    assert item["valid"][0, : H // 2].all() and not item["valid"][0, H // 2:].any()
    assert torch.allclose(item["flows"][0, :, 0, 0], torch.tensor([3.0, -1.0]))


def test_torchvision_hd1k(tmp_path):
    d = tmp_path / "hd1k"
    (d / "hd1k_flow_gt/flow_occ").mkdir(parents=True)
    png = np.zeros((H, W, 3), np.uint16)
    png[..., 0], png[..., 2] = 1, 2**15 + 64 * 2  # BGR on disk: valid everywhere, u = 2 px, v = -512
    for i in range(3):
        write_image(d / "hd1k_input/image_2" / f"000000_{i:04d}.png", _img(i))
        cv2.imwrite(str(d / "hd1k_flow_gt/flow_occ" / f"000000_{i:04d}.png"), png)
    ds = datasets.load("hd1k", tmp_path)
    assert len(ds) == 2 and torch.allclose(ds[0]["flows"][0, 0], torch.full((H, W), 2.0))


def test_resize_keeps_sparse_flow_uncontaminated():
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0], flow[:, 1] = 4.0, -2.0
    valid = torch.zeros(1, 8, 8, dtype=torch.bool)
    valid[:, :, :5] = True
    flow[:, :, ~valid[0]] = 0  # invalid pixels hold zeros, as in KITTI
    out = resize_sample({"frames": torch.rand(2, 3, 8, 8), "flows": flow, "valid": valid}, 0.5)
    assert out["frames"].shape == (2, 3, 4, 4) and out["valid"].any()
    assert torch.allclose(out["flows"][0, 0][out["valid"][0]], torch.tensor(2.0))  # 4 px * 0.5
    assert torch.allclose(out["flows"][0, 1][out["valid"][0]], torch.tensor(-1.0))


def test_training_clips_have_the_training_size(tmp_path):
    for n in range(3):
        d = tmp_path / f"p{n}"
        write_image(d / "frame1.png", _img(n))
        write_image(d / "frame2.png", _img(n + 5))
        write_flo(d / "flow.flo", _flow(3.0, -1.5))
    ds = datasets.training_clips("folder", tmp_path, size=(10, 6))
    for i in range(len(ds)):
        item = ds[i]
        assert item["frames"].shape == (2, 3, 6, 10) and item["flows"].shape == (1, 2, 6, 10)
        f = item["flows"][0][:, item["valid"][0]]
        assert f.numel() and torch.allclose(f[0] / f[1], torch.tensor(-2.0))  # direction kept
        # scale to cover 10x6 from 16x12 is 0.625, times a zoom in [1, 1.3]
        assert (3.0 * 0.625 - 1e-4 <= f[0]).all() and (f[0] <= 3.0 * 0.625 * 1.3 + 1e-4).all()
    assert torch.equal(ds[1]["frames"], ds[1]["frames"])  # reproducible crops


@pytest.mark.parametrize("kind", ["davis", "folder", "middlebury", "chairs", "kitti"])
def test_missing_dataset_is_a_one_line_error(tmp_path, kind):
    with pytest.raises(SegflowError) as err:
        datasets.load(kind, tmp_path / "nope")
    assert "\n" not in str(err.value)


def test_unknown_kind(tmp_path):
    with pytest.raises(SegflowError, match="unknown dataset kind"):
        datasets.load("imagenet", tmp_path)


def test_loaders_on_the_shared_evaluation_data(shared_data):
    pairs = datasets.FolderPairs(shared_data / "flow")
    assert len(pairs) == 12
    sintel = next(i for i, d in enumerate(pairs.dirs) if d.name == "clean_alley_1_0002")
    item = pairs[sintel]
    assert item["frames"].shape == (2, 3, 436, 1024) and item["flows"].shape == (1, 2, 436, 1024)
    assert 0.5 < item["valid"].float().mean() <= 1.0
    davis = datasets.DavisClips(shared_data / "davis2016", year="2016", split="val", frames=2)
    clip = davis[0]
    assert clip["frames"].shape == (2, 3, 480, 854) and set(clip["masks"].unique().tolist()) == {0, 1}


def test_training_and_the_benchmark_read_one_layout(tmp_path):
    """datasets.load and the flow benchmark list the same Sintel pairs from layouts.py, and read the
    same ground truth (invalid/ pixels excluded in both); DAVIS masks are read alike too."""
    from segflow_cli.data.layouts import davis_objects, list_pairs

    for p in ("clean", "final"):
        for i in (1, 2, 3):
            write_image(tmp_path / "Sintel/training" / p / "alley" / f"frame_{i:04d}.png", _img(i))
    inv = np.zeros((H, W), np.uint8)
    inv[:, :5] = 255
    for i in (1, 2):
        write_flo(tmp_path / "Sintel/training/flow/alley" / f"frame_{i:04d}.flo", _flow(0, i))
        write_image(tmp_path / "Sintel/training/invalid/alley" / f"frame_{i:04d}.png", inv)
    train = datasets.load("sintel", tmp_path)
    bench = list_pairs("sintel", tmp_path / "Sintel")
    assert len(train) == len(bench) == 4
    for k, pair in enumerate(bench):
        flow, valid = pair.truth()
        assert torch.equal(train[k]["valid"][0], torch.from_numpy(valid)) and not valid[:, :5].any()
        assert torch.equal(train[k]["flows"][0], torch.from_numpy(flow).permute(2, 0, 1))
    mask = np.array([[0, 1, 255]], np.uint8)
    assert davis_objects(mask, "2017").tolist() == [[0, 1, 0]] and davis_objects(mask, "2016").tolist() == [[0, 1, 1]]
