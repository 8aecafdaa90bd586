"""The "dis-match" warm start (models.match_start): DIS full seeded by a global match of the frozen ImageNet
Lite0 features reaches a motion DIS alone misses, keeps what DIS gets right, and never disturbs the plain DIS
calls the other methods make."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segflow_cli.classical import dis_flow
from segflow_cli.models.match_start import coarse_match, matched_dis


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
    assert err(seeded, square, (120, 16)).mean() < 5 and (err(seeded, square, (120, 16)) < 1).mean() > 0.9
    for flow in (plain, seeded):  # the static background seen in both frames stays still
        assert (err(flow, background, (0, 0)) < 1).mean() > 0.95
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
