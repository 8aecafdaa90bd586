"""Agreement with the official toolkits on real data (../shared): J and F per frame and their statistics
for OSVOS on the 8 DAVIS-2016 sequences (davis2017-evaluation), T per frame pair (DAVIS-2016 toolkit).
Skips when ../shared is absent. T is checked on a sample of pairs to keep the suite fast; every pair
was compared once offline (see benchmarks/RESULTS.md)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from segflow_cli.eval.davis import evaluate_folder, sequence_names, summarize
from segflow_cli.eval.t_stability import temporal_stability
from segflow_cli.io import read_mask

TOL = 1e-6  # the README: identical to the last digit (the references carry 6 decimals)


@pytest.fixture(scope="module")
def osvos_scores(shared_data, shared_reference):
    root = shared_data / "davis2016"
    pred = shared_reference / "davis2016-osvos" / "predictions"
    names = sequence_names(root, year="2016", split="val")
    return evaluate_folder(root, pred, year="2016", sequences=names, with_t=False)


def test_j_f_per_frame_and_statistics_match_official(osvos_scores, shared_reference):
    ref = json.loads((shared_reference / "davis2016-osvos" / "official_results.json").read_text())
    assert sorted(o.sequence for o in osvos_scores) == sorted(ref["sequences"])
    from segflow_cli.eval.davis_metrics import db_statistics

    for o in osvos_scores:
        r = ref["sequences"][o.sequence]
        assert np.abs(o.J - np.array(r["J_per_frame"])).max() < TOL
        assert np.abs(o.F - np.array(r["F_per_frame"])).max() < TOL
        for key, got in zip(("J_Mean", "J_Recall", "J_Decay"), db_statistics(o.J)):
            assert abs(got - r[key]) < TOL, (o.sequence, key)
        for key, got in zip(("F_Mean", "F_Recall", "F_Decay"), db_statistics(o.F)):
            assert abs(got - r[key]) < TOL, (o.sequence, key)


def test_global_and_per_sequence_csv_values_match_official(osvos_scores, shared_reference):
    ref_dir = shared_reference / "davis2016-osvos"
    with open(ref_dir / "global_results.csv") as f:
        (glob,) = list(csv.DictReader(f))
    s = summarize(osvos_scores)
    for key, value in glob.items():
        assert abs(s[key] - float(value)) < TOL, key
    with open(ref_dir / "per-sequence_results.csv") as f:
        rows = {r["Sequence"]: r for r in csv.DictReader(f)}
    for o in osvos_scores:
        assert abs(o.J.mean() - float(rows[o.name]["J-Mean"])) < TOL
        assert abs(o.F.mean() - float(rows[o.name]["F-Mean"])) < TOL


@pytest.mark.parametrize("which", ["osvos", "gt_as_prediction"])
def test_t_per_pair_matches_official_toolkit(which, shared_data, shared_reference):
    ref = json.loads((shared_reference / "davis2016-osvos" / "official_T.json").read_text())[which]
    root = (shared_reference / "davis2016-osvos" / "predictions" if which == "osvos"
            else shared_data / "davis2016" / "Annotations" / "480p")
    checked = 0
    for seq, d in ref["sequences"].items():
        n = len(d["pair_frames"])
        picks = range(n) if (seq == "drift-straight" and which == "osvos") else (0, n // 2)
        for k in picks:
            a, b = d["pair_frames"][k]
            ma, mb = (read_mask(root / seq / f"{i:05d}.png") for i in (a, b))
            assert abs(temporal_stability(ma, mb) - d["T_per_pair"][k]) < TOL, (seq, a, b)
            checked += 1
    assert checked >= 16
