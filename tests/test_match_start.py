"""The "dis-match" warm start (models.match_start): DIS full seeded by a global match of the frozen ImageNet
Lite0 features reaches a motion DIS alone misses, keeps what DIS gets right, and never disturbs the plain DIS
calls the other methods make."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segflow_cli.classical import dis_flow
from segflow_cli.models.match_start import MATCH_STRIDE, MIN_MATCHES, coarse_match, dominant_homography, matched_dis
from segflow_cli.ops import InputPadder


def _texture(h: int, w: int, seed: int, blur: float) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), blur)


def _cut_out_pair(dx: int = 120, dy: int = 16):
    """A 96 px textured square moving (dx, dy) over a static textured background (224x320): the frames,
    the square's pixels in frame 1, and the background seen in both frames."""
    h, w, s, y0, x0 = 224, 320, 96, 50, 30
    bg, obj = _texture(h, w, 1, 3.0), _texture(s, s, 2, 1.5)
    a, b = bg.copy(), bg.copy()
    a[y0:y0 + s, x0:x0 + s] = obj
    b[y0 + dy:y0 + dy + s, x0 + dx:x0 + dx + s] = obj
    square, landing = np.zeros((h, w), bool), np.zeros((h, w), bool)
    square[y0:y0 + s, x0:x0 + s] = True
    landing[y0 + dy:y0 + dy + s, x0 + dx:x0 + dx + s] = True
    return a, b, square, ~square & ~landing


def test_a_large_motion_dis_misses_is_found_and_the_background_kept():
    a, b, square, background = _cut_out_pair(dx=120, dy=16)
    err = lambda f, m, u: np.hypot(f[..., 0] - u[0], f[..., 1] - u[1])[m]  # noqa: E731
    plain, seeded = dis_flow(a, b, preset="full"), matched_dis(a, b)
    assert err(plain, square, (120, 16)).mean() > 50  # DIS alone stays near zero motion on the square
    assert err(seeded, square, (120, 16)).mean() < 1.5 and (err(seeded, square, (120, 16)) < 1).mean() > 0.9
    # The static background seen in both frames stays still. The edge-aware choice (stop 43) carries the
    # square's motion a few pixels past its edge here: two random textures of equal colour statistics are the
    # guided filter's worst case (97.8 -> 94.4 % of the background within 1 px, the square's mean error
    # 3.05 -> 0.69 px with the grey guide, benchmarks/RESULTS.md stop 43).
    assert (err(plain, background, (0, 0)) < 1).mean() > 0.95
    assert (err(seeded, background, (0, 0)) < 1).mean() > 0.93
    assert seeded.shape == a.shape[:2] + (2,) and seeded.dtype == np.float32


def test_no_motion_gives_zero_flow_and_bad_frames_are_refused():
    a = _texture(96, 128, 3, 2.0)
    assert np.abs(matched_dis(a, a)).max() < 0.05
    with pytest.raises(ValueError, match="one size"):
        matched_dis(a, a[:64])
    with pytest.raises(ValueError, match="uint8"):
        matched_dis(a, a.astype(np.float32))


def test_the_match_is_consistent_both_ways_on_a_cyclic_shift():
    """A feature map shifted by (3, 2) cells (cyclically: every cell has its partner) matches every cell to
    its partner, forward and backward."""
    f = torch.nn.functional.normalize(torch.randn(16, 10, 12), dim=0)
    moved = torch.roll(f, shifts=(2, 3), dims=(1, 2))
    fw, kept = coarse_match(f, moved)
    assert kept.all()
    assert torch.allclose(fw[:, :8, :9], torch.tensor([3.0, 2.0]).view(2, 1, 1), atol=0.05)  # away from the wrap


def test_a_seeded_dis_call_does_not_change_later_plain_calls():
    """OpenCV's DIS object, once given a starting flow, computes other flows in later calls without one:
    the seeded calls use their own objects, so the other methods' DIS stays plain DIS."""
    a, b, _, _ = _cut_out_pair()
    before = dis_flow(a, b, preset="full")
    start = np.random.default_rng(0).normal(0, 20, a.shape[:2] + (2,)).astype(np.float32)
    seeded = dis_flow(a, b, preset="full", init=start)
    assert not np.array_equal(seeded, before)
    assert np.array_equal(dis_flow(a, b, preset="full"), before)
    assert np.array_equal(dis_flow(a, b, preset="full", init=start), seeded)  # the seeded object is deterministic
    with pytest.raises(ValueError, match="starting flow"):
        dis_flow(a, b, preset="full", init=start[:10])


def test_the_transform_and_the_method_registry_give_the_same_warm_start():
    from segflow_cli.inference.methods import FLOW_METHODS, get_flow_method
    from segflow_cli.models import PairTransform

    a, b, _, _ = _cut_out_pair(dx=60, dy=0)
    expected = matched_dis(a, b)
    assert torch.equal(PairTransform(flow_init="dis-match").warm_start(a, b), torch.from_numpy(expected).permute(2, 0, 1))
    assert "dis-match" in FLOW_METHODS and np.array_equal(get_flow_method("dis-match")(a, b), expected)


def _homography_flow(hom: np.ndarray, h: int, w: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    p = np.stack([xs, ys, np.ones_like(xs)], -1) @ hom.T
    return (p[..., :2] / p[..., 2:] - np.stack([xs, ys], -1)).astype(np.float32)


def test_the_dominant_homography_of_the_matches_is_their_motion_in_the_unpadded_frame():
    """Matches made by a known homography on the padded stride-16 grid (a 200 x 300 frame: 12 rows and 10
    columns of padding, split between the sides), a quarter of them wrong: the fitted motion is the
    homography's flow at every pixel of the frame itself; too few matches give none."""
    h, w = 200, 300
    padder = InputPadder((1, 3, h, w), stride=32)
    hom = np.array([[1.08, 0.02, 40.0], [-0.01, 1.05, -25.0], [2e-5, 1e-5, 1.0]])
    left, _, top, _ = padder.pads
    gh, gw = padder.padded_size[0] // MATCH_STRIDE, padder.padded_size[1] // MATCH_STRIDE
    gy, gx = np.mgrid[0:gh, 0:gw]
    centres = np.stack([gx, gy], -1) * MATCH_STRIDE + (MATCH_STRIDE - 1) / 2 - np.array([left, top])
    p = np.concatenate([centres, np.ones((gh, gw, 1))], -1) @ hom.T
    fw = (p[..., :2] / p[..., 2:] - centres) / MATCH_STRIDE
    rng = np.random.default_rng(0)
    wrong = rng.random((gh, gw)) < 0.25
    off = rng.uniform(2, 6, (int(wrong.sum()), 2)) * rng.choice([-1, 1], (int(wrong.sum()), 2))
    fw[wrong] += off  # outliers, 2-6 cells away (beyond RANSAC's one-cell threshold)
    fw = torch.from_numpy(fw).permute(2, 0, 1).float()
    flow = dominant_homography(fw, torch.ones(gh, gw, dtype=torch.bool), padder)
    assert flow.shape == (h, w, 2) and flow.dtype == np.float32
    # (a centre off by the padding would be ~0.5 px off: the zoom times the 5-6 px offset)
    assert np.abs(flow - _homography_flow(hom, h, w)).max() < 0.05
    few = torch.zeros(gh, gw, dtype=torch.bool)
    few.view(-1)[: MIN_MATCHES - 1] = True
    assert dominant_homography(fw, few, padder) is None


def test_a_camera_pan_and_zoom_beyond_dis_is_followed_everywhere():
    """Frame 2 is frame 1 under a homography (zoom 1.12 and a pan: 20-60 px): DIS alone misses it on this
    fine texture (43 px off), the two matched candidates mostly (6.2 px, 83 % within 1 px), the dominant
    homography's candidate follows it on the pixels seen in both frames."""
    import cv2

    h, w = 224, 320
    big = _texture(2 * h, 2 * w, 5, 2.5)
    a = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    hom = np.array([[1.12, 0.0, -60.0], [0.0, 1.12, -30.0], [0.0, 0.0, 1.0]])
    b = cv2.warpPerspective(a, hom, (w, h), flags=cv2.INTER_LINEAR)  # b(H x) = a(x): pixel x moves to H x
    gt = _homography_flow(hom, h, w)
    ys, xs = np.mgrid[0:h, 0:w]
    seen = (xs + gt[..., 0] >= 2) & (xs + gt[..., 0] < w - 2) & (ys + gt[..., 1] >= 2) & (ys + gt[..., 1] < h - 2)
    err = lambda f: np.hypot(*(f - gt).transpose(2, 0, 1))[seen]  # noqa: E731
    assert err(dis_flow(a, b, preset="full")).mean() > 5
    e = err(matched_dis(a, b))
    assert e.mean() < 1.5 and (e < 1).mean() > 0.95
