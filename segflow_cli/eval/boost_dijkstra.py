"""Boost's ``dijkstra_shortest_paths`` on the contour-alignment grid, step for step, for T's rare ties.

The DAVIS 2016 toolkit matches contours with Boost.Graph's Dijkstra (a 4-ary indirect heap, strict
'<' relaxation). When two predecessors give a cell exactly the same distance, the one Boost pops
first becomes its parent, and that depends on the heap's internal order. The fast dynamic programme
in t_stability.py cannot know that order, so when a tie lies on its path this pure-Python replay of
Boost's visit order (breadth_first_visit + d_ary_heap_indirect<4>) decides instead. It is slow
(about a second per 100k cells) and only runs for those pairs.
"""

from __future__ import annotations

import numpy as np


def boost_parents(cost: np.ndarray) -> list[int]:
    """Predecessor of every cell (flat index x * N2 + y) after Boost's Dijkstra from cell 0, where
    cell (a, b) has out-edges, in Boost's insertion order, to (a, b+1), (a+1, b), (a+1, b+1), each
    weighted with the cost of the cell entered."""
    n1, n2 = cost.shape
    n = n1 * n2
    c = cost.ravel().tolist()
    dist = [float("inf")] * n
    pred = list(range(n))
    color = bytearray(n)  # 0 white, 1 gray (in the heap), 2 black
    pos = [-1] * n
    heap: list[int] = []

    def sift_up(i: int) -> None:  # preserve_heap_property_up
        v = heap[i]
        dv = dist[v]
        while i:
            p = (i - 1) >> 2
            pv = heap[p]
            if not dv < dist[pv]:
                break
            heap[i] = pv
            pos[pv] = i
            i = p
        heap[i] = v
        pos[v] = i

    def sift_down() -> None:  # preserve_heap_property_down
        size = len(heap)
        i, v = 0, heap[0]
        dv = dist[v]
        while True:
            first = 4 * i + 1
            if first >= size:
                break
            best, best_d = first, dist[heap[first]]
            for k in range(first + 1, min(first + 4, size)):
                d = dist[heap[k]]
                if d < best_d:
                    best, best_d = k, d
            if not best_d < dv:
                break
            u = heap[best]
            heap[i], pos[u] = u, i
            heap[best], pos[v] = v, best
            i = best

    dist[0] = 0.0
    color[0] = 1
    heap.append(0)
    pos[0] = 0
    while heap:
        u = heap[0]
        last = heap.pop()
        if heap:
            heap[0], pos[last] = last, 0
            sift_down()
        a, b = divmod(u, n2)
        du = dist[u]
        outs = ([u + 1] if b + 1 < n2 else []) + ([u + n2] if a + 1 < n1 else []) \
            + ([u + n2 + 1] if a + 1 < n1 and b + 1 < n2 else [])
        for v in outs:
            nd = du + c[v]
            if color[v] == 0:  # tree edge: relax, then push
                if nd < dist[v]:
                    dist[v], pred[v] = nd, u
                color[v] = 1
                heap.append(v)
                sift_up(len(heap) - 1)
            elif color[v] == 1 and nd < dist[v]:  # gray target: relax and decrease the key
                dist[v], pred[v] = nd, u
                sift_up(pos[v])
        color[u] = 2
    return pred


def boost_match_path(cost: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Same contract as t_stability.match_path, with Boost's exact parent choices."""
    n1, n2 = cost.shape
    pred = boost_parents(cost)
    flat = cost.ravel()
    path, cur = [], n1 * n2 - 1
    best, best_id = float("inf"), cur
    while cur != 0:
        if flat[cur] < best:
            best, best_id = flat[cur], cur
        path.append(cur)
        cur = pred[cur]
    path.append(0)
    cells = np.array([divmod(p, n2) for p in path], dtype=np.int64)
    return cells, best_id // n2, best_id % n2
