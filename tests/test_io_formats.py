"""Round trips and error paths for .flo, KITTI png, images, masks and flow colouring."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from segflow_cli.errors import FormatError, SegflowError
from segflow_cli.io import (DAVIS_PALETTE, AntiAliasedMaskWarning, flow_to_color, mask_to_onehot, onehot_to_mask,
                            read_flo, read_image, read_kitti_flow, read_mask, write_flo, write_image,
                            write_kitti_flow, write_mask)


@pytest.fixture
def flow() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 20, (7, 9, 2)).astype(np.float32)


def test_flo_round_trip_exact_and_layout(tmp_path, flow):
    write_flo(tmp_path / "a.flo", flow)
    raw = (tmp_path / "a.flo").read_bytes()
    assert raw[:4] == b"PIEH" and len(raw) == 12 + 7 * 9 * 8
    assert np.frombuffer(raw[4:12], "<i4").tolist() == [9, 7]  # width then height
    back = read_flo(tmp_path / "a.flo")
    assert back.dtype == np.float32 and back.shape == (7, 9, 2)
    np.testing.assert_array_equal(back, flow)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_flo_errors(tmp_path, flow):
    write_flo(tmp_path / "a.flo", flow)
    raw = (tmp_path / "a.flo").read_bytes()
    (tmp_path / "tag.flo").write_bytes(b"XXXX" + raw[4:])
    with pytest.raises(FormatError, match="PIEH"):
        read_flo(tmp_path / "tag.flo")
    (tmp_path / "short.flo").write_bytes(raw[:-5])
    with pytest.raises(FormatError, match="truncated"):
        read_flo(tmp_path / "short.flo")
    (tmp_path / "hdr.flo").write_bytes(raw[:8])
    with pytest.raises(FormatError, match="truncated"):
        read_flo(tmp_path / "hdr.flo")
    (tmp_path / "huge.flo").write_bytes(raw[:4] + np.array([10**8, 5], "<i4").tobytes() + raw[12:])
    with pytest.raises(FormatError, match="impossible size"):
        read_flo(tmp_path / "huge.flo")
    with pytest.raises(SegflowError, match="not found"):
        read_flo(tmp_path / "missing.flo")
    with pytest.raises(FormatError):
        write_flo(tmp_path / "bad.flo", np.zeros((4, 4, 3)))
    assert not (tmp_path / "bad.flo").exists()


def test_npy_round_trip(tmp_path, flow):
    np.save(tmp_path / "f.npy", flow)
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), flow)


def test_kitti_round_trip_valid_and_clipping(tmp_path, flow):
    valid = np.ones(flow.shape[:2], bool)
    valid[0, :3] = False
    big = flow.copy()
    big[1, 1] = [1000.0, -1000.0]
    big[2, 2, 0] = np.nan
    write_kitti_flow(tmp_path / "k.png", big, valid)
    back, v = read_kitti_flow(tmp_path / "k.png")
    assert back.shape == flow.shape and back.dtype == np.float32 and v.dtype == bool
    ok = np.ones(flow.shape[:2], bool)
    ok[1, 1] = ok[2, 2] = False
    assert np.abs(back - flow)[ok].max() <= 1 / 128 + 1e-6  # rounding to the 1/64 px grid
    np.testing.assert_allclose(back[1, 1], [511.984375, -512.0])  # clipped to the representable range
    expect = valid.copy()
    expect[2, 2] = False  # non-finite -> invalid
    np.testing.assert_array_equal(v, expect)


def test_kitti_channel_order(tmp_path):
    import cv2

    write_kitti_flow(tmp_path / "k.png", np.array([[[1.0, -2.0]]], np.float32))
    bgr = cv2.imread(str(tmp_path / "k.png"), cv2.IMREAD_UNCHANGED)
    assert bgr.dtype == np.uint16
    assert bgr[0, 0].tolist() == [1, 2**15 - 128, 2**15 + 64]  # B=valid, G=v, R=u


def test_kitti_rejects_8bit_png(tmp_path):
    write_image(tmp_path / "rgb.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(FormatError, match="16-bit"):
        read_kitti_flow(tmp_path / "rgb.png")


def test_image_read_write_conversions(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)  # RGB order kept
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / "grey.png")
    np.testing.assert_array_equal(read_image(tmp_path / "grey.png"), np.repeat(rgb[:, :, :1], 3, 2))
    Image.fromarray(np.dstack([rgb, np.full((5, 6), 7, np.uint8)])).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgb)
    write_image(tmp_path / "16.png", rgb.astype(np.uint16) * 257)
    np.testing.assert_array_equal(read_image(tmp_path / "16.png"), rgb)  # 16-bit scaled, not clipped
    (tmp_path / "x.png").write_text("not an image")
    with pytest.raises(FormatError, match="x.png is not an image") as err:
        read_image(tmp_path / "x.png")
    assert "BytesIO" not in str(err.value)  # the file's name, not Pillow's in-memory buffer
    with pytest.raises(SegflowError, match="nope.png"):
        read_image(tmp_path / "nope.png")


def test_palette_is_davis():
    pal = np.asarray(DAVIS_PALETTE, np.uint8).reshape(-1, 3)
    assert pal.shape == (256, 3)
    assert pal[:5].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128]]
    assert len({tuple(c) for c in pal}) == 256


def test_mask_round_trip_palette(tmp_path):
    ids = np.zeros((6, 8), np.uint8)
    ids[1:3, 1:4], ids[4:, 5:], ids[0, 7] = 1, 2, 17
    write_mask(tmp_path / "m.png", ids)
    im = Image.open(tmp_path / "m.png")
    assert im.mode == "P" and im.getpalette()[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0]
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png"), ids)
    im.convert("RGB").save(tmp_path / "rgb.png")  # palette colours in RGB map back to their index
    np.testing.assert_array_equal(read_mask(tmp_path / "rgb.png"), ids)
    with pytest.raises(FormatError):
        write_mask(tmp_path / "bad.png", np.full((2, 2), 300))


def test_mask_grey_binary_and_ids(tmp_path):
    m = np.zeros((6, 8), np.uint8)
    m[2:4, 2:6] = 255
    Image.fromarray(m).save(tmp_path / "l.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "l.png"), (m > 0).astype(np.uint8))
    Image.fromarray(m > 0).save(tmp_path / "one.png")  # mode "1"
    np.testing.assert_array_equal(read_mask(tmp_path / "one.png"), (m > 0).astype(np.uint8))
    ids = np.array([[0, 1, 2], [3, 0, 1]], np.uint8)
    Image.fromarray(ids).save(tmp_path / "ids.png")  # grey id map
    np.testing.assert_array_equal(read_mask(tmp_path / "ids.png"), ids)


def test_mask_rgb_colours_get_ids_by_first_appearance(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[0, 3:] = (10, 200, 30)  # appears first
    rgb[2:, :2] = (255, 255, 0)
    rgb[3, 5] = (10, 200, 30)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    out = read_mask(tmp_path / "c.png")
    expect = np.zeros((4, 6), np.uint8)
    expect[0, 3:], expect[2:, :2], expect[3, 5] = 1, 2, 1
    np.testing.assert_array_equal(out, expect)


def test_mask_antialiased_warns_and_thresholds(tmp_path):
    yy, xx = np.mgrid[:40, :40]
    soft = np.clip((12.0 - np.hypot(yy - 20, xx - 20)) * 64 + 128, 0, 255).astype(np.uint8)  # blurred disc edge
    Image.fromarray(soft).save(tmp_path / "soft.png")
    with pytest.warns(AntiAliasedMaskWarning):
        out = read_mask(tmp_path / "soft.png")
    np.testing.assert_array_equal(out, (soft >= 128).astype(np.uint8))
    rgb = np.zeros((40, 40, 3), np.uint8)
    alpha = (soft / 255.0)[..., None]
    rgb[:] = np.rint(alpha * np.array([128, 0, 0])).astype(np.uint8)  # red disc blended into black
    Image.fromarray(rgb).save(tmp_path / "softrgb.png")
    with pytest.warns(AntiAliasedMaskWarning):
        out = read_mask(tmp_path / "softrgb.png")
    assert set(np.unique(out)) == {0, 1}  # edge blends snapped, not turned into extra objects
    assert out[20, 20] == 1 and out[0, 0] == 0
    clean = np.zeros((6, 6), np.uint8)
    clean[2:4, 2:4] = 255
    Image.fromarray(clean).save(tmp_path / "clean.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_mask(tmp_path / "clean.png")  # a hard-edged mask does not warn


def test_mask_not_an_image(tmp_path):
    (tmp_path / "m.png").write_bytes(b"\x00garbage")
    with pytest.raises(FormatError, match="not an image"):
        read_mask(tmp_path / "m.png")
    with pytest.raises(SegflowError, match="missing.png"):
        read_mask(tmp_path / "missing.png")


def test_onehot_helpers():
    ids = np.array([[0, 1], [3, 1]], np.uint8)
    planes = mask_to_onehot(ids)
    assert planes.shape == (2, 2, 2) and planes.dtype == bool
    assert planes[0].tolist() == [[False, True], [False, True]]
    np.testing.assert_array_equal(onehot_to_mask(planes, [1, 3]), ids)
    assert mask_to_onehot(ids, [5]).sum() == 0


def test_flow_to_color_normalisation():
    rng = np.random.default_rng(2)
    f = rng.normal(0, 3, (6, 7, 2)).astype(np.float32)
    img = flow_to_color(f)
    assert img.shape == (6, 7, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(flow_to_color(f / 2), img)  # per-image max: scale-invariant
    m = float(np.linalg.norm(f, axis=2).max())
    assert np.abs(flow_to_color(f, max_flow=m).astype(int) - img).max() <= 1  # same scale -> same colours
    half = flow_to_color(f / 2, max_flow=m)  # fixed scale: half the motion is paler (closer to white)
    assert half.astype(int).sum() > img.astype(int).sum()
    assert not np.array_equal(half, img)
    one = np.zeros((1, 2, 2), np.float32)
    one[0, 0], one[0, 1] = (5.0, 0.0), (500.0, 0.0)  # beyond max_flow -> clamped to the rim colour
    c = flow_to_color(one, max_flow=5.0)
    np.testing.assert_array_equal(c[0, 0], c[0, 1])
    assert (flow_to_color(np.zeros((3, 3, 2), np.float32), max_flow=4.0) == 255).all()  # no motion is white
    with pytest.raises(FormatError):
        flow_to_color(np.zeros((3, 3)))


def test_real_files(shared_data):
    davis = read_mask(shared_data / "davis2016/Annotations/480p/blackswan/00000.png")  # grey 0/255
    assert davis.shape == (480, 854) and set(np.unique(davis)) == {0, 1}
    judo = read_mask(shared_data / "videos/cutie/judo/masks/00000.png")  # palette ids
    assert judo.dtype == np.uint8 and judo.max() >= 1
    flow = read_flo(shared_data / "flow/sintel/clean_alley_1_0002/flow.flo")
    assert flow.shape == (436, 1024, 2) and np.isfinite(flow).all()
    frame = read_image(shared_data / "flow/sintel/clean_alley_1_0002/frame1.png")
    assert frame.shape == (436, 1024, 3) and frame.dtype == np.uint8
