"""Space-time memory readout: the tiled, flow-guided local readout equals a dense window-masked one."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from segflow_cli.models.memory import MemoryState, ReadoutConfig, advance_positions, identity_positions, readout


def _dense_readout(query, mem: MemoryState, positions, cfg: ReadoutConfig):
    """The definition: every pixel's candidates are all long-term pixels plus, per recent frame, every
    pixel within the Chebyshev radius of its rounded (clamped) centre; top-k; softmax; weighted values."""
    c, h, w = query.shape
    q = query.reshape(c, -1).t()
    own = identity_positions(h, w)
    long = q @ mem.long_keys
    m = mem.long_keys.shape[1]
    cells = torch.arange(m) % (h * w) if mem.long_cells is None else mem.long_cells
    if cfg.long_window_penalty:  # far long-term candidates count less (every long-term frame on the same grid)
        near = ((own[0].reshape(-1, 1) - (cells % w).reshape(1, -1)).abs() <= cfg.radius) & \
               ((own[1].reshape(-1, 1) - (cells // w).reshape(1, -1)).abs() <= cfg.radius)
        long = long - cfg.long_window_penalty * (~near).float()
    sims = [long]
    vals = [mem.long_values.t()[None].expand(h * w, -1, -1)]
    if cfg.frame_max:
        sims, vals = _best_over_frames(q, mem, positions, cfg, sims, vals)
    for t in range(mem.recent if not cfg.frame_max else 0):
        cen = torch.round(positions[t])
        cx = cen[0].clamp(0, w - 1).reshape(-1, 1)
        cy = cen[1].clamp(0, h - 1).reshape(-1, 1)
        s = q @ mem.keys[t].reshape(c, -1)
        inside = ((own[0].reshape(1, -1) - cx).abs() <= cfg.radius) & ((own[1].reshape(1, -1) - cy).abs() <= cfg.radius)
        sims.append(s.masked_fill(~inside, -1e4))
        vals.append(mem.values[t].reshape(mem.values.shape[1], -1).t()[None].expand(h * w, -1, -1))
    sims, vals = torch.cat(sims, 1), torch.cat([v.expand(h * w, -1, -1) for v in vals], 1)
    top, idx = sims.topk(cfg.topk, dim=1)
    if mem.long_mass is not None:  # chosen by cosine, weighted by how many cells each long-term column stands for
        top = top + cfg.temperature * torch.where(idx < m, mem.long_mass.log()[idx.clamp_max(m - 1)], 0.0)
    wts = torch.softmax(top / cfg.temperature, 1)
    picked = torch.gather(vals, 1, idx[..., None].expand(-1, -1, vals.shape[-1]))
    return torch.einsum("nk,nkv->nv", wts, picked).t().reshape(-1, h, w)


def _best_over_frames(q, mem: MemoryState, positions, cfg: ReadoutConfig, sims, vals):
    """frame_max: per window offset (dy, dx) from each frame's centre, the best recent-frame candidate."""
    h, w = mem.keys.shape[-2:]
    d = torch.arange(-cfg.radius, cfg.radius + 1)
    dy, dx = (g.reshape(1, -1) for g in torch.meshgrid(d, d, indexing="ij"))
    best = torch.full((h * w, dy.shape[1]), -1e4)
    best_val = torch.zeros(h * w, dy.shape[1], mem.values.shape[1])
    for t in range(mem.recent):
        cen = torch.round(positions[t]).long()
        ys = cen[1].clamp(0, h - 1).reshape(-1, 1) + dy
        xs = cen[0].clamp(0, w - 1).reshape(-1, 1) + dx
        inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        idx = ys.clamp(0, h - 1) * w + xs.clamp(0, w - 1)
        s = (mem.keys[t].reshape(q.shape[1], -1).t()[idx] * q[:, None]).sum(-1).masked_fill(~inside, -1e4)
        better = s > best
        best = torch.where(better, s, best)
        best_val = torch.where(better[..., None], mem.values[t].reshape(mem.values.shape[1], -1).t()[idx], best_val)
    return sims + [best], vals + [best_val]


def _memory(c=16, h=13, w=21, t=3, v=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    unit = lambda *s: F.normalize(torch.randn(*s, generator=g), dim=-3 if len(s) > 2 else 0)  # noqa: E731
    vals = lambda *s: torch.softmax(torch.randn(*s, generator=g), dim=-3 if len(s) > 2 else 0)  # noqa: E731
    mem = MemoryState(long_keys=unit(c, h * w), long_values=vals(v, h * w), keys=unit(t, c, h, w),
                      values=vals(t, v, h, w), positions=identity_positions(h, w)[None].repeat(t, 1, 1, 1))
    return mem, unit(c, h, w)


def test_tiled_readout_equals_dense_reference_without_motion():
    mem, q = _memory()
    cfg = ReadoutConfig(radius=3, topk=5, temperature=0.1, tile=4, fast_select=False, null_similarity=None)
    out = readout(q, mem, config=cfg)
    ref = _dense_readout(q, mem, mem.positions, cfg)
    assert out.shape == (3, 13, 21)
    assert torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(out.sum(0), torch.ones(13, 21), atol=1e-5)  # values stay normalised


@pytest.mark.parametrize("tile,radius,h", [(4, 3, 13), (8, 2, 13), (3, 5, 13), (4, 3, 37)])
def test_cached_unshifted_readout_equals_dense_reference(tile, radius, h):
    """Windows centred in place (propagate) read each frame's keys from a layout cached with the frame:
    the same readout as the definition, and the cache is filled once and reused. h 37: query rows in
    blocks of 16, the last one short (the products' block edges)."""
    mem, q = _memory(h=h, seed=5)
    mem.caches = [{} for _ in range(mem.recent)]
    cfg = ReadoutConfig(radius=radius, topk=5, temperature=0.1, tile=tile, fast_select=False, null_similarity=None)
    out = readout(q, mem, config=cfg)
    assert torch.allclose(out, _dense_readout(q, mem, mem.positions, cfg), atol=1e-5)
    assert all(len(c) == 1 for c in mem.caches)  # the band layout, made once (the rows come from the table)
    first = [list(c.values()) for c in mem.caches]
    again = readout(q, mem, config=cfg)
    assert torch.equal(out, again)
    assert all(len(c) == 1 and all(a is b for a, b in zip(c.values(), f)) for c, f in zip(mem.caches, first))
    fast = readout(q, mem, config=ReadoutConfig(radius=radius, topk=5, temperature=0.1, tile=tile, null_similarity=None))
    assert (fast - out).abs().mean() < 0.02  # bf16 ranking, where the CPU has it


def test_long_term_window_penalty_equals_dense_reference():
    """Far long-term candidates count ``long_window_penalty`` less cosine, over two annotated frames;
    a large penalty reads the long-term frames locally only (the CRW / DINO protocol)."""
    mem, q = _memory(seed=4)
    long_keys = torch.cat([mem.long_keys, mem.long_keys.flip(1)], 1)
    long_values = torch.cat([mem.long_values, mem.long_values.flip(1)], 1)
    mem = MemoryState(long_keys, long_values, mem.keys, mem.values, mem.positions, long_shape=(13, 21))
    for penalty in (0.1, 5.0):
        cfg = ReadoutConfig(radius=3, topk=5, temperature=0.1, tile=4, fast_select=False, null_similarity=None,
                            long_window_penalty=penalty)
        out = readout(q, mem, config=cfg)
        assert torch.allclose(out, _dense_readout(q, mem, mem.positions, cfg), atol=1e-5)
    plain = readout(q, mem, config=ReadoutConfig(radius=3, topk=5, temperature=0.1, tile=4, fast_select=False,
                                                 null_similarity=None))
    assert (plain - out).abs().max() > 0.05  # the penalty changes what is read


def test_a_sparse_weighted_long_term_memory_equals_dense_reference():
    """An annotated frame that keeps only some cells (MemoryState.long_cells), each with a mass: the
    penalised global read finds each query row's near rows among any cell set, and a column's softmax
    weight is multiplied by its mass, over two annotated frames with different cell sets."""
    mem, q = _memory(seed=6)
    h, w = 13, 21
    g = torch.Generator().manual_seed(1)
    other, _ = _memory(seed=7)  # a second annotated frame of its own keys (mirrored copies would tie)
    keys2, vals2 = other.long_keys, other.long_values
    keep = [torch.nonzero(torch.rand(h * w, generator=g) < frac)[:, 0] for frac in (0.5, 0.3)]
    mem = MemoryState(torch.cat([mem.long_keys[:, keep[0]], keys2[:, keep[1]]], 1),
                      torch.cat([mem.long_values[:, keep[0]], vals2[:, keep[1]]], 1), mem.keys, mem.values, mem.positions,
                      long_shape=(h, w), long_cells=torch.cat(keep),
                      long_mass=1.0 + torch.randint(0, 9, (len(keep[0]) + len(keep[1]),), generator=g).float())
    for penalty in (0.0, 0.1):
        cfg = ReadoutConfig(radius=3, topk=5, temperature=0.1, tile=4, fast_select=False, null_similarity=None,
                            long_window_penalty=penalty)
        assert torch.allclose(readout(q, mem, config=cfg), _dense_readout(q, mem, mem.positions, cfg), atol=1e-5)
    unweighted = dataclasses.replace(mem, long_mass=None)
    assert (readout(q, unweighted, config=cfg) - readout(q, mem, config=cfg)).abs().max() > 0.05  # the mass counts


def test_flow_guided_windows_follow_uniform_motion_exactly():
    mem, q = _memory(seed=1)
    cfg = ReadoutConfig(radius=2, topk=4, temperature=0.05, tile=4, fast_select=False, null_similarity=None)
    flow = torch.zeros(2, 13, 21)
    flow[0], flow[1] = -5.0, 3.0  # every pixel came from 5 cells left... of where it is now, 3 down
    pos = advance_positions(mem.positions, flow)
    inner = pos[:, :, 1:9, 6:20]
    own = identity_positions(13, 21)[:, 1:9, 6:20]
    assert torch.allclose(inner[0, 0], own[0] - 5) and torch.allclose(inner[0, 1], own[1] + 3)
    out = readout(q, mem, config=cfg, positions=pos)
    assert torch.allclose(out, _dense_readout(q, mem, pos, cfg), atol=1e-5)


def test_an_object_is_read_from_the_long_term_frame_anywhere():
    """A pixel whose nearest recent-frame windows hold only background still reads the object from the
    annotated frame when its appearance matches there (global long-term readout)."""
    c, h, w = 8, 10, 10
    bg, obj = F.normalize(torch.ones(c), dim=0), F.normalize(torch.arange(c, dtype=torch.float32) - 3.5, dim=0)
    long_keys = bg[:, None].repeat(1, h * w)
    long_keys[:, 0] = obj  # the object sat in the top-left cell of the annotated frame
    long_values = torch.zeros(2, h * w)
    long_values[0], long_values[1, 0], long_values[0, 0] = 1.0, 1.0, 0.0
    keys = bg[None, :, None, None].repeat(2, 1, h, w)
    values = torch.zeros(2, 2, h, w)
    values[:, 0] = 1.0
    mem = MemoryState(long_keys, long_values, keys, values, identity_positions(h, w)[None].repeat(2, 1, 1, 1))
    q = bg[:, None, None].repeat(1, h, w)
    q[:, 9, 9] = obj  # it reappears in the opposite corner, far outside any local window
    out = readout(q, mem, config=ReadoutConfig(radius=2, topk=1, tile=4, null_similarity=None))
    assert out[1, 9, 9] > 0.99 and out[1, :9].max() < 0.01


def test_bf16_candidate_selection_stays_close_to_exact():
    """bf16 products only rank the candidates; their weights are recomputed in fp32."""
    mem, q = _memory(c=64, seed=2)
    exact = readout(q, mem, config=ReadoutConfig(radius=3, topk=5, tile=4, fast_select=False, null_similarity=None))
    fast = readout(q, mem, config=ReadoutConfig(radius=3, topk=5, tile=4, fast_select=True, null_similarity=None))
    assert (fast - exact).abs().mean() < 0.02


def test_a_pixel_like_nothing_in_memory_reads_background():
    """The dustbin: after a cut to another shot, nothing in memory resembles the new pixels."""
    mem, q = _memory(c=16, seed=3)
    mem.long_values[:] = 0.0
    mem.long_values[1] = 1.0  # every memory pixel is object 1 ...
    mem.values[:] = 0.0
    mem.values[:, 1] = 1.0
    mem.long_keys[8:] = 0.0  # memory lives in the first 8 dimensions ...
    mem.long_keys = F.normalize(mem.long_keys, dim=0)
    mem.keys[:, 8:] = 0.0
    mem.keys = F.normalize(mem.keys, dim=1)
    other = torch.zeros(16, 13, 21)
    other[8:] = F.normalize(torch.rand(8, 13, 21), dim=0)  # ... the new shot in the other 8
    far = readout(other, mem, config=ReadoutConfig(radius=3, topk=5, tile=4))
    near = readout(mem.keys[0], mem, config=ReadoutConfig(radius=3, topk=5, tile=4))
    assert far[0].min() > 0.9  # ... yet a pixel resembling none of them reads background
    assert near[1].min() > 0.9  # a pixel found in memory keeps its label


def test_the_dustbin_can_be_kept_for_shots_without_recent_frames():
    """null_with_recent=False: within a shot (recent frames held) no dustbin competes with the object's
    own matches (the readout is exactly the dustbin-free one), while a memory without recent frames
    (the frame after a cut) still reads a pixel like nothing in it as background."""
    mem, q = _memory(c=16, seed=5)
    cut_only = ReadoutConfig(radius=3, topk=5, tile=4, fast_select=False, null_with_recent=False)
    none = ReadoutConfig(radius=3, topk=5, tile=4, fast_select=False, null_similarity=None)
    always = ReadoutConfig(radius=3, topk=5, tile=4, fast_select=False)
    assert torch.equal(readout(q, mem, config=cut_only), readout(q, mem, config=none))
    assert not torch.allclose(readout(q, mem, config=always), readout(q, mem, config=none))
    mem.long_values[:] = 0.0
    mem.long_values[1] = 1.0  # the annotated frame is all object 1, in the first 8 dimensions ...
    mem.long_keys[8:] = 0.0
    mem.long_keys = F.normalize(mem.long_keys, dim=0)
    after_cut = MemoryState(long_keys=mem.long_keys, long_values=mem.long_values, keys=mem.keys[:0],
                            values=mem.values[:0], positions=mem.positions[:0])
    other = torch.zeros(16, 13, 21)
    other[8:] = F.normalize(torch.rand(8, 13, 21), dim=0)  # ... the new shot in the other 8
    assert readout(other, after_cut, config=cut_only)[0].min() > 0.9
    assert readout(other, after_cut, config=none)[1].min() > 0.9  # without any dustbin it would bleed


def test_labels_sit_on_the_padded_key_grid():
    """A 64x36 frame is padded to 64x64 for the network (8x8 key cells, 28 rows of padding split
    14/14): a label must land in the cell that holds its pixels, and come back in place."""
    from segflow_cli.inference.memory import grid_to_frame, values_on_grid

    allp = torch.zeros(2, 36, 64)
    allp[0] = 1.0
    allp[1, 2:10, 16:24], allp[0, 2:10, 16:24] = 1.0, 0.0  # padded rows 16..23: cell row 2, column 2
    grid = values_on_grid(allp, (8, 8))
    assert grid.shape == (2, 8, 8) and float(grid[1, 2, 2]) == 1.0 and float(grid[1].sum()) == 1.0
    back = grid_to_frame(grid, (36, 64))
    assert back.shape == (2, 36, 64) and float(back[1, 6, 20]) > 0.8 and float(back[1, 30, 20]) < 0.01


@pytest.mark.parametrize("moving", [False, True])
def test_best_match_over_frames_equals_dense_reference(moving):
    """ReadoutConfig.frame_max: every window cell offers its best match over the recent frames before
    the top-k; the in-place windows (cached bands, several row blocks) and the flow-guided ones (uniform
    motion) both equal the definition, and it differs from the plain readout (it is a different rule)."""
    mem, q = _memory(h=37, seed=3)
    mem.keys[1] = mem.keys[0]  # a place seen alike in two frames: the plain top-k takes it twice
    cfg = ReadoutConfig(radius=2, topk=4, temperature=0.05, tile=4, fast_select=False, null_similarity=None, frame_max=True)
    pos = mem.positions
    if moving:
        flow = torch.zeros(2, 37, 21)
        flow[0], flow[1] = -5.0, 3.0
        pos = advance_positions(mem.positions, flow)
    else:
        mem.caches = [{} for _ in range(mem.recent)]
    out = readout(q, mem, config=cfg, positions=pos)
    assert torch.allclose(out, _dense_readout(q, mem, pos, cfg), atol=1e-5)
    plain = readout(q, mem, config=dataclasses.replace(cfg, frame_max=False), positions=pos)
    assert (plain - out).abs().max() > 0.05


@pytest.mark.parametrize("m", [6480, 1001, 85])
def test_grouped_top_k_equals_the_plain_top_k(m):
    """The global readout's top-k through group maxima (memory._topk_grouped) picks the same entries as
    torch's top-k: M a multiple of the groups, with a remainder that belongs to no group, and a memory
    too small to group; rows whose best entries crowd into one group, and masked rows, included."""
    from segflow_cli.models.memory import _MASKED, _topk_grouped

    g = torch.Generator().manual_seed(m)
    sims = torch.rand(40, m, generator=g) * 2 - 1
    size = m // 8  # group j holds columns j, j + size, ..., j + 7 size
    sims[0, [i * size for i in range(8)] + [1, 1 + size]] = 5.0 + torch.arange(10.0)  # row 0: the 10 best in 2 groups
    sims[1, -(m % 8 or 1):] = 9.0  # row 1: the best in the ungrouped tail
    sims[2] = _MASKED
    sims[2, 3] = 0.5
    val, idx = _topk_grouped(sims, 10)
    ref = sims.topk(10, dim=1).values
    assert val.shape == idx.shape == (40, 10)
    assert torch.equal(torch.gather(sims, 1, idx), val)  # the indices point at the values returned
    assert torch.equal(val.sort(1, descending=True).values, ref)
    assert len({tuple(r) for r in idx.sort(1).values.tolist()}) == 40 and all(len(set(r)) == 10 for r in idx.tolist())
