"""Mask -> closed polygonal contours, ported from PolyCont (J. Pont-Tuset), the `mask2poly` behind
the DAVIS 2016 toolkit's temporal stability T. The port keeps the toolkit's exact tracing order,
junction handling, Douglas-Peucker simplification (psimpl) and orientation rules, because T depends
on which contour is longest, where it starts and how it is sampled.

Internal grid (the toolkit's): twice the pixel resolution; pixel (r, c) is centred at (2r+1, 2c+1),
pixel corners ("junction points") are at even (X, Y), edge midpoints have one odd coordinate;
X runs down the rows, Y along the columns.
"""

from __future__ import annotations

import numpy as np

from .polycont_jordan import in_out_check, lines_to_jordan


def mask_to_polygons(mask: np.ndarray, tolerance: float = 3.0) -> list[np.ndarray]:
    """(H, W) mask (non-zero = object) -> polygons, each (N, 2) int64 (x = column, y = row) in pixel-corner
    coordinates, closed (first row == last row), outer contours clockwise and holes counter-clockwise,
    in the toolkit's order. ``tolerance`` is the simplification tolerance in half-pixels (toolkit: 3)."""
    m = np.asarray(mask) != 0
    pieces, junction_pos = _trace(m)
    curves = lines_to_jordan(pieces, junction_pos)
    holes = in_out_check([np.asarray(c[2], dtype=np.float64) for c in curves])
    out = []
    for (orig, _end, points), hole in zip(curves, holes):
        pts = np.asarray(_move_to_junctions(points, junction_pos[orig]), dtype=np.float64)
        if tolerance > 0:
            if tolerance > 0.1:  # the toolkit first drops collinear points
                pts = simplify_douglas_peucker(pts, 0.1)
            pts = simplify_douglas_peucker(pts, tolerance)
        if _is_clockwise(pts) == hole:  # outer contours clockwise, holes counter-clockwise
            pts = pts[::-1]
        pts = pts.astype(np.int64) // 2
        if len(pts) > 3:  # the toolkit erases 'single pixels'
            out.append(pts[:, ::-1].copy())
    return out


def _trace(m: np.ndarray):
    """Contour pieces between junctions: ([(orig_id, end_id, [(X, Y) edge midpoints])], {id: (X, Y)})."""
    sx, sy = m.shape
    mp = np.pad(m, 1)
    is_cont = np.zeros((2 * sx + 3, 2 * sy + 3), dtype=bool)  # indexed at (X + 1, Y + 1)
    is_cont[2:2 * sx + 1:2, 1:2 * sy + 2:2] = mp[1:-1, :-1] ^ mp[1:-1, 1:]  # vertical edges
    is_cont[1:2 * sx + 2:2, 2:2 * sy + 1:2] = mp[:-1, 1:-1] ^ mp[1:, 1:-1]  # horizontal edges
    stride = 2 * sy + 3
    cont = is_cont.ravel().tolist()
    visited = bytearray(is_cont.size)
    junction_pos: dict[int, tuple[int, int]] = {}
    junction_id: dict[tuple[int, int], int] = {}

    # 4-way junctions (two pixels touching by a corner), numbered row-major as in the toolkit
    rows, cols = np.arange(2, 2 * sx, 2), np.arange(2, 2 * sy, 2)
    four = (is_cont[np.ix_(rows + 1, cols + 2)] & is_cont[np.ix_(rows + 2, cols + 1)]
            & is_cont[np.ix_(rows + 1, cols)] & is_cont[np.ix_(rows, cols + 1)])
    to_explore = []
    for r, c in zip(*np.nonzero(four)):
        x, y = int(rows[r]), int(cols[c])
        jid = len(junction_pos) + 1
        junction_pos[jid], junction_id[(x, y)] = (x, y), jid
        to_explore += [(jid, (x, y + 1)), (jid, (x + 1, y)), (jid, (x, y - 1)), (jid, (x - 1, y))]

    pieces = []
    while to_explore:  # LIFO, as the toolkit's std::vector
        jid, start = to_explore.pop()
        if visited[(start[0] + 1) * stride + start[1] + 1]:
            continue
        pieces.append(_explore(jid, start, junction_pos, junction_id, cont, visited, stride))

    # closed contours without a junction get an artificial one on their first vertical edge
    for xx, j in zip(*np.nonzero(is_cont[2:2 * sx + 1:2, 1:2 * sy + 2:2])):
        x, y = 2 * int(xx) + 1, 2 * int(j)
        if visited[(x + 1) * stride + y + 1]:
            continue
        jid = len(junction_pos) + 1
        junction_pos[jid], junction_id[(x - 1, y)] = (x - 1, y), jid
        pieces.append(_explore(jid, (x, y), junction_pos, junction_id, cont, visited, stride))
    return pieces, junction_pos


def _explore(orig: int, start, junction_pos, junction_id, cont, visited, stride):
    """Follow edges from junction ``orig`` through ``start`` until a junction: (orig, end, midpoints)."""
    jv = junction_pos[orig]
    jt = jv
    nxt = start
    points = []
    while True:
        visited[(jv[0] + 1) * stride + jv[1] + 1] = 1
        cx, cy = nxt
        if cx % 2:  # vertical edge: its ends are above and below
            e1, e2 = (cx + 1, cy), (cx - 1, cy)
        else:
            e1, e2 = (cx, cy - 1), (cx, cy + 1)
        if not visited[(e1[0] + 1) * stride + e1[1] + 1]:
            jt = e1
        elif not visited[(e2[0] + 1) * stride + e2[1] + 1]:
            jt = e2
        else:
            jt = e2 if e1 == jt else e1
        visited[(cx + 1) * stride + cy + 1] = 1
        visited[(jt[0] + 1) * stride + jt[1] + 1] = 1
        points.append((cx, cy))
        end = junction_id.get(jt, 0)
        if end > 0:
            return orig, end, points
        x, y = jt
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1)):
            k = (nx + 1) * stride + ny + 1
            if cont[k] and not visited[k]:
                nxt = (nx, ny)
                break
        else:
            nxt = (x, y - 1)


def _move_to_junctions(points, junction):
    """Edge midpoints of a closed curve -> its vertices (pixel corners), closed with the junction."""
    out = [junction]
    nxt = points[0]
    for p in points[1:]:
        out.append(_next_extreme(nxt, out[-1]))
        nxt = p
    assert _next_extreme(nxt, out[-1]) == junction, "contour does not close"
    out.append(junction)
    return out


def _next_extreme(edge, last):
    x, y = last
    if edge[0] % 2 == 0:  # horizontal edge
        return (x, y - 2) if edge[1] + 1 == y else (x, y + 2)
    return (x - 2, y) if edge[0] + 1 == x else (x + 2, y)


def _is_clockwise(pts: np.ndarray) -> bool:
    nxt = np.roll(pts, -1, axis=0)
    return float(np.sum((nxt[:, 0] - pts[:, 0]) * (nxt[:, 1] + pts[:, 1]))) > 0


def simplify_douglas_peucker(pts: np.ndarray, tol: float) -> np.ndarray:
    """psimpl's simplify_douglas_peucker: radial-distance pre-pass, then Douglas-Peucker with a stack.
    (N, 2) float64 -> (M, 2) float64, first and last points kept."""
    n = len(pts)
    if n < 2 or tol == 0:
        return pts
    tol2 = tol * tol
    keep, cur = [0], pts[0]
    for i in range(1, n - 1):
        d = pts[i] - cur
        if d[0] * d[0] + d[1] * d[1] < tol2:
            continue
        cur = pts[i]
        keep.append(i)
    red = pts[keep + [n - 1]]
    keys = np.zeros(len(red), dtype=bool)
    keys[0] = keys[-1] = True
    stack = [(0, len(red) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        d2 = _segment_distance2(red[first], red[last], red[first + 1:last])
        k = len(d2) - 1 - int(np.argmax(d2[::-1]))  # psimpl keeps the last of equal maxima
        if tol2 < d2[k]:
            key = first + 1 + k
            keys[key] = True
            stack.append((key, last))
            stack.append((first, key))
    return red[keys]


def _segment_distance2(s1: np.ndarray, s2: np.ndarray, p: np.ndarray) -> np.ndarray:
    """psimpl math::segment_distance2, vectorised over points (its projection fraction is a float32)."""
    v = s2 - s1
    w = p - s1
    cw = w[:, 0] * v[0] + w[:, 1] * v[1]
    cv = v[0] * v[0] + v[1] * v[1]
    d1 = ((p - s1) ** 2).sum(axis=1)
    d2 = ((p - s2) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (cw.astype(np.float32) / np.float32(cv)).astype(np.float64)
    proj = s1 + frac[:, None] * v
    dp = ((p - proj) ** 2).sum(axis=1)
    return np.where(cw <= 0, d1, np.where(cv <= cw, d2, dp))
