"""Temporal stability T of the DAVIS 2016 benchmark (Perazzi et al., CVPR 2016), lower is better.

Port of the DAVIS 2016 toolkit's ``db_eval_t_stab`` and its C++ ``tstab`` extension: take the
longest polygonal contour of each mask (polycont.py), resample it every 3 px, describe every sample
with a log-polar shape context (5 radii x 12 angles), match the two contours with a monotone
cyclic alignment (two shortest-path passes over the chi-square cost matrix), keep a bijective set
of pairs and average their costs. ``temporal_stability`` multiplies by the toolkit's factor 5.0,
as the official evaluation does, so 0.189 here is the "18.9" of published tables.

The shortest path is a dynamic programme over the (acyclic) alignment grid instead of Boost's
Dijkstra: the same distances and, wherever one predecessor is strictly best, the same parents. When
a cell on the path has tied predecessors, Boost's heap order decides, so that match is replayed
exactly (boost_dijkstra.py). The result is the toolkit's value, not an approximation.
"""

from __future__ import annotations

import numpy as np

from .polycont import mask_to_polygons

T_SCALE = 5.0  # the toolkit's "magic number"
CONT_TOL, UPSAMPLE_STEP = 3.0, 3.0
R_INNER, R_OUTER, NBINS_R, NBINS_THETA = 1.0 / 8.0, 2.0, 5, 12
_EPS = 2.2204e-16


def temporal_stability(mask_a: np.ndarray, mask_b: np.ndarray) -> float:
    """T between two consecutive (H, W) masks (non-zero = object), scaled by 5 as the DAVIS 2016
    evaluation does; NaN when either mask has no contour (the sequence mean skips it)."""
    return T_SCALE * t_stab_raw(mask_a, mask_b)


def t_stab_raw(mask_a: np.ndarray, mask_b: np.ndarray) -> float:
    """The toolkit's db_eval_t_stab (unscaled mean matching cost)."""
    poly_a, poly_b = mask_to_polygons(mask_a, CONT_TOL), mask_to_polygons(mask_b, CONT_TOL)
    if not poly_a or not poly_b:
        return float("nan")
    up_a = contour_upsample(_longest(poly_a), UPSAMPLE_STEP)
    up_b = contour_upsample(_longest(poly_b), UPSAMPLE_STEP)
    cost = hist_cost(shape_context(up_a), shape_context(up_b))
    _, sx, sy = match_path(cost)
    shifted = np.roll(np.roll(cost, -(sy + 1), axis=1), -(sx + 1), axis=0)
    pairs, _, _ = match_path(shifted)
    pairs[:, 0] = (pairs[:, 0] + sx + 1) % cost.shape[0]
    pairs[:, 1] = (pairs[:, 1] + sy + 1) % cost.shape[1]
    pairs = _bijective(_bijective(pairs, cost, 0), cost, 1)
    return float(np.mean(cost[pairs[:, 0], pairs[:, 1]]))


def _longest(polys: list[np.ndarray]) -> np.ndarray:
    best = polys[0]
    for p in polys:  # the toolkit keeps the last of the contours with the most vertices
        if len(p) >= len(best):
            best = p
    return best


def contour_upsample(cont: np.ndarray, step: float) -> np.ndarray:
    """Insert points so no segment is longer than ``step``: (N, 2) -> (M, 2) float32, in float32 as the toolkit."""
    c = cont.astype(np.float32)
    diff = c[1:] - c[:-1]
    length = np.sqrt(diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1])
    th = np.float32(step)
    out = [c[:1]]
    for i in range(len(diff)):
        if length[i] > th:
            n = int(np.ceil(length[i] / th))
            vec = diff[i] / np.float32(n)
            steps = np.concatenate([out[-1][-1:], np.repeat(vec[None], n - 1, axis=0)])
            out.append(np.add.accumulate(steps, axis=0, dtype=np.float32)[1:])
        out.append(c[i + 1:i + 2])
    return np.concatenate(out)


def shape_context(points: np.ndarray) -> np.ndarray:
    """(N, 2) samples -> (N, 60) int64 log-polar histograms of all samples around each (radius-major)."""
    p = points.astype(np.float64)
    dx = p[None, :, 0] - p[:, None, 0]  # [i, j] = x_j - x_i
    dy = p[None, :, 1] - p[:, None, 1]
    r = np.sqrt(dx * dx + dy * dy)
    r_n = r / np.mean(r)
    edges = np.logspace(np.log10(R_INNER), np.log10(R_OUTER), NBINS_R)
    r_q = np.zeros(r.shape)
    for e in edges:
        r_q = r_q + (r_n < e)
    theta = np.arctan2(dy, dx)
    theta = np.fmod(np.fmod(theta, 2 * np.pi) + 2 * np.pi, 2 * np.pi)
    # the toolkit would fail on the (float-rounding) 13th sector; clamp it into the 12th
    t_q = np.minimum(np.floor(theta / (2 * np.pi / NBINS_THETA)), NBINS_THETA - 1)
    rows, cols = np.nonzero(r_q > 0)
    bins = (r_q[rows, cols].astype(np.int64) - 1) * NBINS_THETA + t_q[rows, cols].astype(np.int64)
    flat = np.bincount(rows * (NBINS_R * NBINS_THETA) + bins, minlength=len(p) * NBINS_R * NBINS_THETA)
    return flat.reshape(len(p), NBINS_R * NBINS_THETA)


def hist_cost(h1: np.ndarray, h2: np.ndarray, *, chunk_bytes: int = 16 << 20) -> np.ndarray:
    """Chi-square cost between normalised histograms: (N1, B), (N2, B) -> (N1, N2) float64."""
    a = h1 / (h1.sum(axis=1, keepdims=True) + _EPS)
    b = h2 / (h2.sum(axis=1, keepdims=True) + _EPS)
    out = np.empty((len(a), len(b)))
    rows = max(1, chunk_bytes // (8 * a.shape[1] * max(1, len(b))))
    for s in range(0, len(a), rows):
        ta = a[s:s + rows, None, :]
        out[s:s + rows] = 0.5 * np.sum((ta - b[None]) ** 2 / (ta + b[None] + _EPS), axis=2)
    return out


def match_path(cost: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Cheapest monotone path from (0, 0) to (N1-1, N2-1) moving +1 row, +1 column or both, paying the
    cost of every cell entered. Returns its cells from the end back to (0, 0) as (K, 2) int64 and the
    cell of least cost on it (the start excluded; the one nearest the end on ties)."""
    n1, n2 = cost.shape
    w = n2 + 1  # distances on a grid padded with an infinite row and column in front
    dist = np.full((n1 + 1) * w, np.inf)
    dist[w + 1] = 0.0
    flat_cost = cost.ravel()
    parent = np.zeros(n1 * n2, dtype=np.int8)  # 0: diagonal, 1: from the row above, 2: from the left
    tied = np.zeros(n1 * n2, dtype=bool)  # several predecessors reach the same distance
    for k in range(1, n1 + n2 - 1):  # anti-diagonals: every predecessor lies on an earlier one
        x = np.arange(max(0, k - n2 + 1), min(k, n1 - 1) + 1)
        cell = x * n2 + (k - x)
        here = cell + x + w + 1  # the same cell on the padded grid
        c = flat_cost[cell]
        # compare the sums, as Dijkstra's relaxation does (two distances may round to one sum)
        cands = [dist[here - w - 1] + c, dist[here - w] + c, dist[here - 1] + c]
        best = np.minimum(np.minimum(cands[0], cands[1]), cands[2])
        hits = [cand == best for cand in cands]
        code = np.where(hits[0], 0, np.where(hits[1], 1, 2)).astype(np.int8)
        tied[cell] = (hits[0].astype(np.int8) + hits[1] + hits[2] > 1) & np.isfinite(best)
        dist[here] = best
        parent[cell] = code
    parent, tied = parent.reshape(n1, n2), tied.reshape(n1, n2)
    path = [(n1 - 1, n2 - 1)]
    while path[-1] != (0, 0):
        x, y = path[-1]
        c = parent[x, y]
        path.append((x - 1, y - 1) if c == 0 else (x - 1, y) if c == 1 else (x, y - 1))
    cells = np.array(path, dtype=np.int64)
    if len(cells) == 1:
        return cells, 0, 0
    if tied[cells[:-1, 0], cells[:-1, 1]].any():  # Boost's heap order decides ties: replay it
        from .boost_dijkstra import boost_match_path

        return boost_match_path(cost)
    on_path = cost[cells[:-1, 0], cells[:-1, 1]]
    m = int(np.argmin(on_path))
    return cells, int(cells[m, 0]), int(cells[m, 1])


def _bijective(pairs: np.ndarray, cost: np.ndarray, col: int) -> np.ndarray:
    """For every index in column ``col`` keep its cheapest pair (the first on ties), sorted by index."""
    c = cost[pairs[:, 0], pairs[:, 1]]
    order = np.lexsort((np.arange(len(pairs)), c, pairs[:, col]))
    ids = pairs[order, col]
    first = np.concatenate([[True], ids[1:] != ids[:-1]])
    return pairs[order[first]]
