"""J, F and the per-sequence statistics on hand-made masks with known answers (every edge case)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from segflow_cli.eval.davis import ObjectScores, score_sequence, summarize
from segflow_cli.eval.davis_metrics import boundary_f, db_statistics, disk, region_similarity, seg2bmap


def _box(h, w, r0, r1, c0, c1):
    m = np.zeros((h, w), np.uint8)
    m[r0:r1, c0:c1] = 1
    return m


def test_region_similarity_known_values_and_edge_cases():
    gt = _box(8, 8, 2, 6, 2, 6)  # 16 px
    assert region_similarity(gt, _box(8, 8, 2, 4, 2, 6)) == pytest.approx(0.5)  # 8 / 16
    assert region_similarity(gt, _box(8, 8, 6, 8, 6, 8)) == 0.0  # disjoint
    assert region_similarity(np.zeros((4, 4)), np.zeros((4, 4))) == 1.0  # both empty: the toolkit's 1
    assert region_similarity(gt, np.zeros_like(gt)) == 0.0
    void = _box(8, 8, 4, 6, 2, 6)  # the part the prediction misses is void -> perfect
    assert region_similarity(gt, _box(8, 8, 2, 4, 2, 6), void) == 1.0
    with pytest.raises(ValueError):
        region_similarity(gt, np.zeros((3, 3)))


def test_seg2bmap_single_pixel():
    seg = np.zeros((3, 3), bool)
    seg[1, 1] = True
    expected = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]], bool)  # offset half a pixel towards the origin
    assert (seg2bmap(seg) == expected).all()


@pytest.mark.parametrize("radius", [1, 2, 3, 5, 8.0, 12])
def test_disk_matches_skimage(radius):
    from skimage.morphology import disk as sk_disk

    assert (disk(radius) == sk_disk(radius).astype(np.uint8)).all()


def test_boundary_f_edge_cases():
    gt = _box(100, 100, 30, 70, 30, 70)
    empty = np.zeros_like(gt)
    assert boundary_f(gt, gt) == 1.0
    assert boundary_f(gt, empty) == 0.0  # no predicted boundary: P=1, R=0
    assert boundary_f(empty, gt) == 0.0  # no true boundary: P=0, R=1
    assert boundary_f(empty, empty) == 1.0  # neither
    far = _box(100, 100, 0, 5, 90, 100)
    assert boundary_f(gt, far) == 0.0  # P = R = 0


def test_boundary_f_tolerance_is_ceil_of_diagonal_fraction():
    gt = _box(100, 100, 30, 70, 30, 70)  # diagonal 141.4 -> ceil(1.13) = 2 px
    assert boundary_f(gt, _box(100, 100, 32, 72, 30, 70)) == 1.0  # shifted 2 px: within tolerance
    shifted = boundary_f(gt, _box(100, 100, 33, 73, 30, 70))  # 3 px: the horizontal edges fall out
    assert 0.0 < shifted < 1.0
    assert boundary_f(gt, _box(100, 100, 33, 73, 30, 70), bound_th=3) == 1.0  # >= 1 means pixels


def test_db_statistics_mean_recall_decay():
    mean, recall, decay = db_statistics([1, 1, 1, 1, 0, 0, 0, 0])
    assert (mean, recall, decay) == (0.5, 0.5, 1.0)  # bins [0:3] and [5:8]
    mean, recall, decay = db_statistics([math.nan, 1.0, 0.2, 0.8])
    assert mean == pytest.approx(2 / 3)
    assert recall == 0.5  # a NaN frame counts as a miss, as in the toolkit
    assert decay == pytest.approx(1.0 - 0.5)  # first bin [nan, 1] vs last bin [0.2, 0.8]


def test_score_sequence_protocol_and_summary():
    h, w = 20, 24
    gt = [_box(h, w, 4, 12, 4, 12) * 255 for _ in range(5)]  # DAVIS 2016 style 0/255
    pred = [m.copy() for m in gt]
    pred[0][:] = 0  # frames 0 and N-1 are not scored
    pred[4][:] = 0
    pred[2] = _box(h, w, 4, 8, 4, 12)  # half the object
    (obj,) = score_sequence("seq", gt, pred, year="2016", with_t=True)
    assert obj.J.tolist() == [1.0, 0.5, 1.0]
    assert obj.name == "seq" and obj.T.shape == (2,)
    s = summarize([obj, ObjectScores("b", 1, 1, np.array([0.0]), np.array([1.0]), None)])
    assert s["J-Mean"] == pytest.approx((2.5 / 3 + 0.0) / 2)
    assert s["J&F-Mean"] == pytest.approx((s["J-Mean"] + s["F-Mean"]) / 2)


def test_score_sequence_multi_object_2017_and_id_errors():
    from segflow_cli.errors import SegflowError

    gt = np.zeros((16, 16), np.uint8)
    gt[2:6, 2:6], gt[8:12, 8:12], gt[0, 0] = 1, 2, 255  # 255 is void -> background
    pred = gt.copy()
    pred[0, 0] = 0
    objs = score_sequence("s", [gt] * 4, [pred] * 4, year="2017", with_t=False)
    assert [o.name for o in objs] == ["s_1", "s_2"] and all((o.J == 1).all() for o in objs)
    bad = pred.copy()
    bad[14, 14] = 3
    with pytest.raises(SegflowError, match="object id 3"):
        score_sequence("s", [gt] * 4, [bad] * 4, year="2017")
