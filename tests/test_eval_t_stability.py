"""Temporal stability T and its contour extraction on hand-made masks."""

from __future__ import annotations

import math

import numpy as np

from segflow_cli.eval.polycont import mask_to_polygons, simplify_douglas_peucker
from segflow_cli.eval.t_stability import contour_upsample, match_path, temporal_stability


def _signed_area(p: np.ndarray) -> float:  # > 0: clockwise on screen (y down)
    x, y = p[:, 0].astype(float), p[:, 1].astype(float)
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


def test_square_polygon_corners_closed_and_clockwise():
    m = np.zeros((16, 16), np.uint8)
    m[2:12, 3:13] = 1
    (p,) = mask_to_polygons(m)
    assert p.tolist() == [[3, 2], [13, 2], [13, 12], [3, 12], [3, 2]]  # pixel corners (x, y), closed
    assert _signed_area(p) == 100.0  # 10 x 10 pixels, clockwise


def test_hole_is_a_separate_counter_clockwise_polygon():
    m = np.zeros((20, 20), np.uint8)
    m[2:18, 2:18] = 1
    m[6:14, 6:14] = 0
    polys = mask_to_polygons(m)
    areas = sorted(_signed_area(p) for p in polys)
    assert areas == [-64.0, 256.0]


def test_corner_touching_blobs_split_at_the_junction():
    m = np.zeros((10, 10), np.uint8)
    m[2:5, 2:5] = 1
    m[5:8, 5:8] = 1  # touches the first block only at the corner (5, 5): a 4-way junction
    polys = mask_to_polygons(m)
    assert sorted(abs(_signed_area(p)) for p in polys) == [9.0, 9.0]
    assert all((p[0] == p[-1]).all() for p in polys)


def test_douglas_peucker_drops_collinear_points_and_keeps_corners():
    line = np.array([[0, 0], [2, 0], [4, 0], [6, 0], [6, 2], [6, 4]], float)
    assert simplify_douglas_peucker(line, 0.1).tolist() == [[0, 0], [6, 0], [6, 4]]


def test_contour_upsample_spacing():
    up = contour_upsample(np.array([[0, 0], [9, 0], [9, 2]]), 3.0)
    assert up.dtype == np.float32
    assert up.tolist() == [[0, 0], [3, 0], [6, 0], [9, 0], [9, 2]]  # the 9 px edge gets 2 extra points


def test_match_path_follows_the_cheap_diagonal():
    cost = np.ones((4, 4))
    np.fill_diagonal(cost, 0.0)
    cells, sx, sy = match_path(cost)
    assert cells.tolist() == [[3, 3], [2, 2], [1, 1], [0, 0]]
    assert (sx, sy) == (3, 3)  # the cheapest cell nearest the end


def _disk(h, w, cy, cx, r):
    yy, xx = np.mgrid[:h, :w]
    return ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8)


def test_t_is_zero_for_the_same_shape_and_after_a_translation():
    a = _disk(48, 64, 20, 24, 12)
    assert temporal_stability(a, a) == 0.0
    assert temporal_stability(a, np.roll(a, (3, 5), axis=(0, 1))) == 0.0  # shape context is translation-free


def test_t_grows_with_deformation_and_is_nan_for_empty_masks():
    a = _disk(48, 64, 24, 32, 12)
    ellipse = np.zeros_like(a)
    yy, xx = np.mgrid[:48, :64]
    ellipse[((yy - 24) / 8.0) ** 2 + ((xx - 32) / 20.0) ** 2 <= 1] = 1
    small = temporal_stability(a, _disk(48, 64, 24, 32, 13))
    large = temporal_stability(a, ellipse)
    assert 0.0 < small < large
    assert math.isnan(temporal_stability(a, np.zeros_like(a)))
    assert math.isnan(temporal_stability(np.zeros_like(a), a))


def test_dynamic_programme_agrees_with_boost_dijkstra_replay():
    from segflow_cli.eval.boost_dijkstra import boost_match_path

    rng = np.random.default_rng(0)
    for cost in (rng.random((9, 7)), rng.integers(0, 3, (8, 10)).astype(float), np.ones((5, 6))):
        cells, sx, sy = match_path(cost)  # ties on the path fall back to the replay; otherwise the DP decides
        ref_cells, rsx, rsy = boost_match_path(cost)
        assert cells.tolist() == ref_cells.tolist() and (sx, sy) == (rsx, rsy)
        assert cells[0].tolist() == [cost.shape[0] - 1, cost.shape[1] - 1] and cells[-1].tolist() == [0, 0]
        steps = cells[:-1] - cells[1:]
        assert set(map(tuple, steps.tolist())) <= {(1, 0), (0, 1), (1, 1)}  # monotone moves only
