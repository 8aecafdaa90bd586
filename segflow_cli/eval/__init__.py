"""Evaluation: DAVIS J / F (davis2017-evaluation) and T (DAVIS 2016 toolkit), optical-flow accuracy,
and the benchmark runners behind `segflow benchmark`.

    from segflow_cli.eval import region_similarity, boundary_f, temporal_stability, flow_errors
    j = region_similarity(gt_mask, pred_mask)          # (H, W) masks, non-zero = object
    t = temporal_stability(pred_mask_t, pred_mask_t1)  # DAVIS 2016 T (x5 as published), NaN if empty
"""

from .davis import ObjectScores, evaluate_folder, score_sequence, sequence_names, summarize
from .davis_metrics import boundary_f, db_statistics, region_similarity
from .flow_metrics import PairErrors, flow_errors, summarize_flow
from .t_stability import temporal_stability

__all__ = [
    "ObjectScores", "PairErrors", "boundary_f", "db_statistics", "evaluate_folder", "flow_errors",
    "region_similarity", "score_sequence", "sequence_names", "summarize", "summarize_flow", "temporal_stability",
]
