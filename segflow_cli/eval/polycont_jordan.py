"""PolyCont's grouping of contour pieces into closed (Jordan) curves and its hole test, ported for
the DAVIS 2016 temporal stability T (see polycont.py).

Pieces are (orig_junction, end_junction, [(X, Y) edge midpoints]). The toolkit keeps the open
junctions in a libstdc++ ``std::unordered_map<int, std::set<int>>``; its ``begin()`` is the most
recently inserted key still present (junction ids are distinct buckets), which a Python dict
reproduces as its last key. The order decides which curve comes first and where it starts.
"""

from __future__ import annotations

import numpy as np

_F32_EPS = float(np.finfo(np.float32).eps)
_F32_MIN = float(np.finfo(np.float32).tiny)
_F32_MAX = float(np.finfo(np.float32).max)


def lines_to_jordan(pieces, junction_pos):
    """Pieces -> closed curves [(orig_junction, end_junction, [(X, Y), ...])] in the toolkit's order."""
    on_junct: dict[int, set[int]] = {j: set() for j in junction_pos}
    for i, (a, b, _) in enumerate(pieces):
        on_junct[a].add(i)
        on_junct[b].add(i)
    jordan = []

    def other(c, j):
        a, b, _ = pieces[c]
        return b if j == a else a

    def erase(j, c):  # operator[] then erase: inserting a missing key and dropping it again is a no-op
        s = on_junct.get(j)
        if s is not None:
            s.discard(c)
            if not s:
                del on_junct[j]

    def first_coord(c, j):
        a, _, pts = pieces[c]
        return pts[0] if a == j else pts[-1]

    def add_piece(cycle, swept_list, swept):
        k = next(i for i, (j, _) in enumerate(swept_list) if j == cycle)
        points, end = [], cycle
        for j, c in swept_list[k:]:
            a, b, pts = pieces[c]
            if a == j:
                end, points = b, points + pts
            else:
                end, points = a, points + pts[::-1]
            swept.discard(j)
        del swept_list[k:]
        jordan.append((cycle, end, points))
        return swept_list[-1][1] if swept_list else -1

    while on_junct:
        swept_list: list[tuple[int, int]] = []
        swept: set[int] = set()
        j = next(reversed(on_junct))
        c = min(on_junct[j])
        erase(j, c)
        erase(other(c, j), c)
        swept.add(j)
        swept_list.append((j, c))
        nj = other(c, j)
        if nj in swept:
            add_piece(nj, swept_list, swept)
        while swept:
            j = nj
            options = sorted(on_junct.get(j, ()))
            if not options:  # undefined behaviour in the toolkit; never seen on real masks
                break
            nf, cl = first_coord(options[0], j), first_coord(c, j)
            pick = 1 if (nf[0] == cl[0] or nf[1] == cl[1]) and len(options) > 1 else 0  # avoid going straight
            c = options[pick]
            erase(j, c)
            end = other(c, j)
            if end in on_junct:
                erase(end, c)
            swept.add(j)
            swept_list.append((j, c))
            nj = other(c, j)
            if nj in swept:
                c = add_piece(nj, swept_list, swept)
    return jordan


def _ray_crossings(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> int:
    """PolyCont rayintersectseg over many segments (a, b: (K, 2) float64); returns the crossing count."""
    swap = a[:, 1] > b[:, 1]
    a, b = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
    px = np.full(len(a), p[0])
    py = np.where((p[1] == a[:, 1]) | (p[1] == b[:, 1]), p[1] + _F32_EPS, p[1])
    outside = (py > b[:, 1]) | (py < a[:, 1]) | (px > np.maximum(a[:, 0], b[:, 0]))
    left = px < np.minimum(a[:, 0], b[:, 0])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dxr, dxb = b[:, 0] - a[:, 0], px - a[:, 0]
        m_red = np.where(np.abs(dxr) > _F32_MIN, (b[:, 1] - a[:, 1]) / dxr.astype(np.float32), _F32_MAX)
        m_blue = np.where(np.abs(a[:, 0] - px) > _F32_MIN, (py - a[:, 1]) / dxb.astype(np.float32), _F32_MAX)
        hit = m_blue.astype(np.float32) >= m_red.astype(np.float32)
    return int(np.sum(~outside & (left | hit)))


def _inside(p: np.ndarray, poly: np.ndarray) -> bool:
    a = np.concatenate([poly[:-1], poly[:1]])
    b = np.concatenate([poly[1:], poly[-1:]])
    return _ray_crossings(p, a, b) % 2 == 1


def in_out_check(conts: list[np.ndarray]) -> list[bool]:
    """PolyCont in_out_check: which curves are holes (nested an even number of levels below the root)."""
    if not conts:
        return []
    parents, children = [-1], [set()]

    def add(cur: int, parent: int) -> None:
        for child in sorted(children[parent]):
            if _inside(conts[cur - 1][0], conts[child - 1]):
                return add(cur, child)
        inner = {ch for ch in children[parent] if _inside(conts[ch - 1][0], conts[cur - 1])}
        children.append(inner)
        for ch in inner:
            children[parent].discard(ch)
            parents[ch] = cur
        children[parent].add(cur)
        parents.append(parent)

    for k in range(1, len(conts) + 1):
        add(k, 0)

    def flatten(depth: int, node: int) -> None:
        for ch in sorted(children[node]):
            parents[ch] = -1 if depth % 2 else parents[ch] - 1
            flatten(depth + 1, ch)

    flatten(1, 0)
    return [p != -1 for p in parents[1:]]
