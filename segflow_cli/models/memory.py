"""Space-time memory readout: label propagation from past frames (STM / XMem / CRW style).

The flow-warped prior only knows frame t-1; once it drifts, nothing brings the object back. A memory
of several past frames, each stored as keys (the trunk's unit-norm stride-8 embedding, see
matching.embed) and values (that frame's soft [background, object 1..K] probabilities at stride 8),
lets every current pixel read its label from its most similar memory pixels:

    readout(p) = sum_j softmax_j(sim_j / temperature) * value_j,   j in top-k over all candidates

Candidates are every pixel of the long-term frames (the annotated one: global, so an object that
left or was lost is found again anywhere) and, for each recent frame, the pixels within ``radius``
cells of where the flow says p came from (flow-guided local windows, as CRW/DINO restrict their
DAVIS protocol to a radius but centred on the motion, so fast objects stay inside a small window).

Local windows are computed by tiles, never as a dense N x N matrix: the current frame is cut into
``tile`` x ``tile`` cell tiles; each tile's queries are multiplied with one (tile + 2 radius)^2 patch
of every recent frame, shifted by the tile's mean motion, and each query keeps only the candidates
inside its own window. The result equals the dense, window-masked computation whenever each
pixel's window lies within its tile's patch (always true for uniform motion inside a tile). Windows
centred in place (no flow: ``propagate``) are exact: each query row of a tile of ``tile`` columns reads
the (2 radius + 1) rows around it of a band laid out once per memory frame (``local_bands``, cut
into the blocks the products read: ``local_blocks``).

Everything here is parameter-free and works on one video (no batch dim); training loops over the
batch. Shapes: C embedding channels, V value channels (K + 1), (h, w) the stride-8 grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

_MASKED = -1.0e4  # similarity of a candidate outside its window (cosines live in [-1, 1])
_CHUNK = 512  # queries per product of the global readout
_GROUPS = 8  # column groups of the global readout's top-k (_topk_grouped)
_ROW_BLOCK = 16  # query rows per product of the in-place local readout


@dataclass
class MemoryState:
    """What the network reads from a video's memory for one frame.

    long_keys (C, M) / long_values (V, M): the long-term frames (annotated), flattened, read globally.
    keys (T, C, h, w) / values (T, V, h, w): the recent frames, read in local windows; T may be 0.
    positions (T, 2, h, w): for each pixel of the *previous* frame, its (x, y) cell position in each
        recent frame (chained flow); the network advances them by the current frame's flow.
    long_shape: the (h, w) grid every long-term frame was stored on (M = frames * h * w), where known;
        ReadoutConfig.long_window_penalty needs it to tell near candidates from far ones.
    caches: one dict per recent frame (or None) that lives as long as the frame stays in memory: the
        readout keeps the frame's keys there in the layout it reads them in (``local_bands``), so a
        frame is laid out once instead of once per frame that reads it.
    table, slots: optional, the keys as one (M + S * h * w, C) fp32 row table (the long-term frames' M
        rows, then S slots of h * w rows) and each recent frame's slot, kept by the session's memory: the
        readout then gathers its candidates' keys from it in one pass (else from the frames one by one).
    long_cells: optional (M,) int64, each long-term column's cell y * w + x on ``long_shape``, for a memory
        that keeps only some cells of its annotated frames (frame after frame, each frame's cells in
        raster order); None: every frame whole, column j at cell j mod (h w).
    long_mass: optional (M,), how many cells each long-term column stands for (a kept background cell
        for the ones left out around it): its softmax weight is multiplied by it; None: 1 each.
    """

    long_keys: torch.Tensor
    long_values: torch.Tensor
    keys: torch.Tensor
    values: torch.Tensor
    positions: torch.Tensor
    long_shape: tuple[int, int] | None = None
    caches: list[dict] | None = None
    table: torch.Tensor | None = None
    slots: list[int] | None = None
    long_cells: torch.Tensor | None = None
    long_mass: torch.Tensor | None = None

    @property
    def recent(self) -> int:
        return int(self.keys.shape[0])


@dataclass(frozen=True)
class ReadoutConfig:
    """radius: local window radius in stride-8 cells for recent frames; topk: candidates kept per
    pixel over all memory frames together; temperature: of the softmax over their cosines; tile: query
    tile side in cells (cost/accuracy trade-off of the tiled local correlation only)."""

    radius: int = 12
    topk: int = 10
    temperature: float = 0.05
    tile: int = 8
    fast_select: bool = True  # pick candidates with bf16 products where the CPU/GPU has native bf16
    null_similarity: float | None = 0.5  # a background candidate of this cosine joins every softmax ...
    # ... or, False, only where the memory holds no recent frame (the first frame read, the first after a
    # scene cut): there the new shot's background has no evidence of its own, while within a shot the
    # recent frames give it, and the dustbin only eats objects whose look changes (fast motion, scale).
    null_with_recent: bool = True
    # Long-term (annotated) frames are read globally, but a candidate farther than ``radius`` cells from
    # the query's own position counts this much less cosine: near matches win ties against look-alikes
    # elsewhere (a crowd around a dancer), while an object that is lost or moved far is still found
    # when nothing near matches better. 0: plain global; >= 2: local only (CRW / DINO's protocol).
    long_window_penalty: float = 0.0
    # Recent frames: each window cell (offset from the query, or in its flow-guided patch) offers only its
    # best match over the recent frames, then the top-k is taken. Without it a static neighbourhood seen
    # in every recent frame fills the top-k with copies of one place; with it the k candidates are k
    # places (and one top-k over a window replaces one per frame: about a fifth of the readout's time).
    frame_max: bool = False


def identity_positions(h: int, w: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """(2, h, w): each cell's own (x, y)."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype),
                            indexing="ij")
    return torch.stack([xs, ys])


def advance_positions(positions: torch.Tensor, flow_cells: torch.Tensor) -> torch.Tensor:
    """positions (T, 2, h, w) of the previous frame's pixels in each memory frame, flow_cells (2, h, w)
    current -> previous frame in cells -> (T, 2, h, w) of the current frame's pixels (sampled at
    p + flow(p), bilinear; a pixel whose source lies outside the frame keeps the nearest border's)."""
    if positions.shape[0] == 0:
        return positions
    _, _, h, w = positions.shape
    base = identity_positions(h, w, device=positions.device, dtype=flow_cells.dtype)
    src = base + flow_cells
    grid = torch.stack([2.0 * src[0] / max(w - 1, 1) - 1.0, 2.0 * src[1] / max(h - 1, 1) - 1.0], dim=-1)
    grid = grid[None].expand(positions.shape[0], -1, -1, -1).to(positions.dtype)
    return F.grid_sample(positions, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _topk_padded(sims: torch.Tensor, k: int, *, sorted: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k over the last dim, padded with masked entries when there are fewer than k columns
    (``sorted=False``: in no particular order, for callers that only take the set)."""
    n = min(k, sims.shape[-1])
    val, idx = sims.topk(n, dim=-1, sorted=sorted) if n > 0 else (sims[..., :0], sims[..., :0].long())
    if n < k:
        pad = k - n
        val = torch.cat([val, val.new_full((*val.shape[:-1], pad), _MASKED)], -1)
        idx = torch.cat([idx, idx.new_zeros((*idx.shape[:-1], pad))], -1)
    return val, idx


def _topk_grouped(sims: torch.Tensor, k: int, groups: int = _GROUPS) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-k (unsorted) of each row of sims (n, M), as ``_topk_padded(sims, k, sorted=False)``, through
    group maxima: the columns fall into groups {j, j + L, j + 2L, ...} (L = M // groups), each group's
    maximum is an elementwise max of ``groups`` contiguous slices (vectorised), the top-k groups by
    maximum are taken and the top-k among their columns. Exact: a group holding one of the k largest
    entries has a maximum among the k largest, so at most k groups hold them all (ties may pick other
    columns of equal value, as any top-k may). Why: torch's CPU top-k costs about 1.5 ns an element;
    the maxima cost a tenth of that, leaving a top-k over M / groups entries and one over groups * k
    (the annotated frame's 6480 x 6480 cosines at 864x480: 45 -> 31 ms, benchmarks/RESULTS.md stop 27)."""
    n, m = sims.shape
    size = m // groups
    if size < 4 * k:  # a small memory: the plain top-k is as cheap
        return _topk_padded(sims, k, sorted=False)
    best = sims[:, :groups * size].view(n, groups, size).amax(1)  # (n, L)
    top_groups = best.topk(k, dim=1, sorted=False).indices  # (n, k)
    cols = (top_groups[:, None, :] + torch.arange(groups, device=sims.device)[None, :, None] * size).reshape(n, -1)
    if m > groups * size:  # the last M mod groups columns belong to no group: always candidates
        cols = torch.cat([cols, torch.arange(groups * size, m, device=sims.device).expand(n, -1)], 1)
    val, pick = torch.gather(sims, 1, cols).topk(k, dim=1, sorted=False)
    return val, torch.gather(cols, 1, pick)


def _global_candidates(q: torch.Tensor, keys: torch.Tensor, k: int, *, grid: tuple[int, int] | None = None,
                       radius: int = 0, penalty: float = 0.0, cells: torch.Tensor | None = None):
    """q (N, C), keys (C, M) -> top-k sims (N, k) and their columns (N, k). With a ``penalty`` and the
    ``grid`` (h, w) that both the N queries and the key frames lie on, candidates outside the query's
    (2 radius + 1)^2 window count ``penalty`` less; ``cells`` (M,): each column's cell (MemoryState.long_cells;
    None: every key frame whole)."""
    if keys.shape[1] == 0:
        return q.new_full((q.shape[0], k), _MASKED), torch.zeros(q.shape[0], k, dtype=torch.long, device=q.device)
    keys = keys.to(q.dtype)
    if not (penalty and grid is not None):
        # By chunks of queries: each product is ranked while it is still in cache (a third faster on
        # the CPU than one N x M product followed by one top-k); unsorted (the caller takes the set),
        # a fifth faster again.
        parts = [_topk_grouped(q[i:i + _CHUNK] @ keys, k) for i in range(0, q.shape[0], _CHUNK)]
        return torch.cat([v for v, _ in parts]), torch.cat([i for _, i in parts])
    h, w = grid
    m = keys.shape[1]
    if cells is None:
        cells = torch.arange(m, device=q.device) % (h * w)
    ky, kx = cells // w, cells % w
    # Columns lie frame after frame, each frame's cells in raster order: the key rows within the radius of
    # a query row are one contiguous run of columns per frame, found by a binary search of its rows.
    starts = [0] + (torch.nonzero(cells[1:] <= cells[:-1])[:, 0] + 1).tolist() + [m]
    lo = torch.arange(-radius, h - radius, device=q.device)
    runs = [(a + torch.searchsorted(ky[a:b].contiguous(), lo), a + torch.searchsorted(ky[a:b].contiguous(), lo + 2 * radius, right=True))
            for a, b in zip(starts[:-1], starts[1:])]
    runs = [(f.tolist(), t.tolist()) for f, t in runs]
    near = _window_bias(w, radius, penalty, q.dtype, q.device)[:, kx]  # (w, M): penalty back where x is near
    rows = max(1, _CHUNK // w)  # query rows per product: chunked and ranked in cache, as above
    parts = []
    for y0 in range(0, h, rows):
        sims = q[y0 * w:(y0 + rows) * w] @ keys
        s3 = sims.view(-1, w, m)
        s3.sub_(penalty)
        for y in range(y0, y0 + s3.shape[0]):  # query row y: key rows within the radius get it back where x is near too
            for first, last in runs:
                a, b = first[y], last[y]
                s3[y - y0, :, a:b] += near[:, a:b]
        parts.append(_topk_grouped(sims, k))
    return torch.cat([v for v, _ in parts]), torch.cat([i for _, i in parts])


def _window_bias(w: int, radius: int, penalty: float, dtype, device) -> torch.Tensor:
    x = torch.arange(w, device=device)
    return ((x[:, None] - x[None, :]).abs() <= radius).to(dtype) * penalty


def _outside_window(rows: torch.Tensor, grid: tuple[int, int], radius: int,
                    cells: torch.Tensor | None = None) -> torch.Tensor:
    """rows (N, k) columns of long-term candidates on frames of ``grid`` (h, w), queries n = y w + x ->
    (N, k) bool: the candidate lies outside the query's window. ``cells``: as in _global_candidates."""
    h, w = grid
    cell = rows % (h * w) if cells is None else cells[rows.clamp_max(cells.shape[0] - 1)]
    n = torch.arange(rows.shape[0], device=rows.device)[:, None]
    return ((cell // w - n // w).abs() > radius) | ((cell % w - n % w).abs() > radius)


def _untile(x: torch.Tensor, h: int, w: int, s: int) -> torch.Tensor:
    """Per-tile results (tiles, s * s, *rest), tiles in row-major order, of an (h, w) grid cut into
    s x s tiles (padded up to whole tiles) -> (h * w, *rest) in the grid's own pixel order."""
    hq, wq = -(-h // s) * s, -(-w // s) * s
    rest = x.shape[2:]
    x = x.reshape(hq // s, wq // s, s, s, *rest).permute(0, 2, 1, 3, *range(4, 4 + len(rest)))
    return x.reshape(hq, wq, *rest)[:h, :w].reshape(h * w, *rest)


def local_bands(key: torch.Tensor, cfg: ReadoutConfig, dtype) -> torch.Tensor:
    """A recent frame's key (C, h, w) laid out for in-place windows: (ntx, C + s, h + 2r, u), u = s + 2r,
    band j holding the columns [j s - r, j s + s + r) of every row from -r to h + r (zeros outside the
    frame). The query row y of column tile j reads rows [y, y + 2r] of band j: a (C + s, (2r + 1) u)
    matrix in place (a row stride of u), every candidate within r rows of the query.

    The s extra channels carry the rest of the window test as a bias the product adds for free: a
    query at column j s + q carries a one-hot on channel C + q, and channel C + q of the band holds
    _MASKED where a column is more than r cells from that query's column or the cell lies outside the
    frame (else 0). So no mask is ever added to the (large) similarity tensor."""
    c, h, w = key.shape
    s, r = cfg.tile, cfg.radius
    u = s + 2 * r
    wq = -(-w // s) * s
    padded = F.pad(key.to(dtype), (r, wq - w + r, r, r))  # (C, h + 2r, wq + 2r)
    rows = torch.arange(-r, h + r, device=key.device)
    cols = torch.arange(-r, wq + r, device=key.device)
    outside = (rows < 0)[:, None] | (rows >= h)[:, None] | (cols < 0)[None, :] | (cols >= w)[None, :]
    bias = torch.where(outside, _MASKED, 0.0).to(dtype).expand(s, -1, -1)
    bands = torch.cat([padded, bias], 0).unfold(2, u, s).permute(2, 0, 1, 3).contiguous()  # (ntx, C + s, h + 2r, u)
    p, q = torch.arange(u, device=key.device), torch.arange(s, device=key.device)
    far = ((p[None, :] - r - q[:, None]).abs() > r)  # (s, u): patch column p is outside query q's window
    bands[:, c:] += torch.where(far, _MASKED, 0.0).to(dtype)[None, :, None, :]
    return bands


def local_blocks(key: torch.Tensor, cfg: ReadoutConfig, dtype) -> list[torch.Tensor]:
    """A recent frame's ``local_bands`` cut into what each block of _ROW_BLOCK query rows reads: for the
    block at row y0 (ny rows), the band rows [y0, y0 + ny + 2r) as one contiguous (ntx, C + s, (ny + 2r) u)
    matrix per column tile. Made once when the frame is first read and kept with it: the CPU's batched
    product copies a strided operand on every call (a block's rows of the whole band are strided), which
    cost 9 ms a frame at 864x480 when each of the 6 recent frames was cut again every frame (stop 27)."""
    band = local_bands(key, cfg, dtype)
    ntx, cb, _, u = band.shape
    h, r = key.shape[1], cfg.radius
    return [band[:, :, y0:min(h, y0 + _ROW_BLOCK) + 2 * r].reshape(ntx, cb, -1).contiguous()
            for y0 in range(0, h, _ROW_BLOCK)]


def _unshifted_candidates(query: torch.Tensor, blocks: list[list[torch.Tensor]], h: int, w: int, cfg: ReadoutConfig):
    """``_local_candidates`` when every window is centred on its own cell (no flow: propagate), from
    the frames' ``local_blocks`` -> sims (N, k) and rows (N, k) in the frames' flattened pixels."""
    c = query.shape[0]
    t = len(blocks)
    s, r, k = cfg.tile, cfg.radius, cfg.topk
    u, win = s + 2 * r, 2 * r + 1
    wq = -(-w // s) * s
    ntx = wq // s
    dev = query.device
    qt = F.pad(query, (0, wq - w)).reshape(c, h, ntx, s).permute(2, 1, 3, 0)  # (j, y, q, C)
    onehot = torch.eye(s, dtype=query.dtype, device=dev).expand(ntx, h, s, s)
    qt = torch.cat([qt, onehot], -1).contiguous()  # (j, y, q, C + s): the one-hot picks the window's bias
    sims = query.new_empty(t, ntx, h, s, win * u)
    for f, frame_blocks in enumerate(blocks):
        # A block of query rows times every band row any of them reads, as one large product per column
        # tile (wasting (2r + Y) / (2r + 1) of it), then each query row's own 2r + 1 rows copied out of the
        # product's diagonal band. Per-row products (8 queries each) ran 4-5x slower on the CPU's matrix
        # units than these 16-row blocks (benchmarks/RESULTS.md, stop 25); the sums are the same.
        for y0, block in zip(range(0, h, _ROW_BLOCK), frame_blocks):
            ny = min(h, y0 + _ROW_BLOCK) - y0
            cb, span = block.shape[1:]
            prod = torch.bmm(qt[:, y0:y0 + ny].reshape(ntx, ny * s, cb), block)
            sims[f, :, y0:y0 + ny].copy_(prod.as_strided((ntx, ny, s, win * u), (prod.stride(0), s * span + u, span, 1)))
    if cfg.frame_max:  # each window cell's best match over the frames, then one top-k
        # amax, then the frame of each kept cell only: max with indices over the frames ran 10x slower.
        top, idx = _topk_padded(sims.amax(0), k)  # (j, y, q, k)
        # argmax over the last dim of a contiguous copy: torch's CPU argmax over a leading dim ran ~18x
        # slower (13 ms a frame at 864x480), the same first-maximum indices.
        frame = torch.gather(sims, 4, idx.expand(t, *idx.shape)).movedim(0, -1).contiguous().argmax(-1)
        frame = frame.permute(1, 0, 2, 3).reshape(h, wq, k)
        top, idx = top.permute(1, 0, 2, 3).reshape(h, wq, k), idx.permute(1, 0, 2, 3).reshape(h, wq, k)
    else:
        top, idx = _topk_padded(sims, k)  # (f, j, y, q, k) per frame, then over the frames
        top, pick = _topk_padded(top.permute(2, 1, 3, 0, 4).reshape(h, wq, t * k), k)
        idx = torch.gather(idx.permute(2, 1, 3, 0, 4).reshape(h, wq, t * k), 2, pick)
        frame = pick // k
    y = (torch.arange(h, device=dev)[:, None, None] + idx // u - r).clamp(0, h - 1)
    x = (torch.arange(wq, device=dev)[None, :, None] // s * s + idx % u - r).clamp(0, w - 1)
    rows = frame * (h * w) + y * w + x  # (y, x, k)
    return top[:, :w].reshape(h * w, k), rows[:, :w].reshape(h * w, k)


def _local_candidates(query: torch.Tensor, keys: torch.Tensor, positions: torch.Tensor, cfg: ReadoutConfig,
                      caches: list[dict] | None = None):
    """Tiled flow-guided local windows over the T recent frames (keys (T, C, h, w)) -> sims (N, k) and
    their rows (N, k) in the frames' flattened (T * h * w) pixels."""
    c, h, w = query.shape
    t = keys.shape[0]
    s, r, k = cfg.tile, cfg.radius, cfg.topk
    u = s + 2 * r  # patch side per tile
    hq, wq = -(-h // s) * s, -(-w // s) * s
    nty, ntx = hq // s, wq // s
    tiles = nty * ntx
    dev = query.device
    if caches is not None and len(caches) == t and bool((positions == identity_positions(h, w, device=dev)).all()):
        name = ("row_blocks", s, r, query.dtype, _ROW_BLOCK)
        blocks = []
        for f, cache in enumerate(caches):
            if name not in cache:
                cache[name] = local_blocks(keys[f], cfg, query.dtype)
            blocks.append(cache[name])
        return _unshifted_candidates(query, blocks, h, w, cfg)

    # Queries by tile: (L, s*s, C); their own (x, y) and window centres per recent frame.
    qp = F.pad(query, (0, wq - w, 0, hq - h))
    qt = qp.reshape(c, nty, s, ntx, s).permute(1, 3, 2, 4, 0).reshape(tiles, s * s, c)
    centres = torch.round(positions).clamp_min(0)
    centres = torch.stack([centres[:, 0].clamp_max(w - 1), centres[:, 1].clamp_max(h - 1)], 1)  # (T, 2, h, w)
    cp = F.pad(centres, (0, wq - w, 0, hq - h), mode="replicate")
    ct = cp.reshape(t, 2, nty, s, ntx, s).permute(0, 2, 4, 3, 5, 1).reshape(t, tiles, s * s, 2)  # (x, y)
    own = identity_positions(hq, wq, device=dev).reshape(2, nty, s, ntx, s).permute(1, 3, 2, 4, 0).reshape(tiles, s * s, 2)
    valid_q = (own[..., 0] < w) & (own[..., 1] < h)  # (L, s*s): padding queries do not steer a tile's shift
    shift = ((ct - own) * valid_q[None, ..., None]).sum(2) / valid_q.sum(1).clamp_min(1)[None, :, None]
    shift = torch.round(shift)  # (T, L, 2)

    # Each tile's patch in each recent frame: top-left = tile origin - r + shift.
    ty, tx = torch.meshgrid(torch.arange(nty, device=dev), torch.arange(ntx, device=dev), indexing="ij")
    origin = torch.stack([tx.reshape(-1) * s, ty.reshape(-1) * s], -1).to(shift.dtype)  # (L, 2) (x, y)
    off = torch.arange(u, device=dev, dtype=shift.dtype) - r
    px = ((origin[None, :, 0] + shift[..., 0])[..., None] + off).permute(1, 0, 2)  # (L, T, u) cell x of patch cols
    py = ((origin[None, :, 1] + shift[..., 1])[..., None] + off).permute(1, 0, 2)  # (L, T, u) cell y of patch rows
    frame = (torch.arange(t, device=dev) * (h * w))[None, :, None, None]
    rows = frame + (py.clamp(0, h - 1) * w).long()[..., :, None] + px.clamp(0, w - 1).long()[..., None, :]  # (L, T, u, u)
    rows = rows.reshape(tiles, t * u * u)
    # Row gathers of contiguous (C,) vectors are far cheaper than strided gathers along a last dim.
    kp = keys.permute(0, 2, 3, 1).reshape(t * h * w, c).to(query.dtype).index_select(0, rows.reshape(-1))
    sims = torch.bmm(qt, kp.reshape(tiles, t * u * u, c).transpose(1, 2)).reshape(tiles, s * s, t, u, u)

    # A candidate counts only inside the query's own window (Chebyshev radius r around its centre) and
    # inside the frame. Both tests are separable in x and y, so they are added as two small biases.
    cx, cy = ct[..., 0].permute(1, 2, 0), ct[..., 1].permute(1, 2, 0)  # (L, s*s, T)
    okx = ((px[:, None] - cx[..., None]).abs() <= r) & (px[:, None] >= 0) & (px[:, None] < w)  # (L, s*s, T, u)
    oky = ((py[:, None] - cy[..., None]).abs() <= r) & (py[:, None] >= 0) & (py[:, None] < h)
    zero = sims.new_zeros(())
    sims += torch.where(okx, zero, _MASKED)[..., None, :]
    sims += torch.where(oky, zero, _MASKED)[..., :, None]
    if cfg.frame_max:  # each patch cell's best match over the frames (each frame's patch where its flow says)
        per = sims.reshape(tiles, s * s, t, u * u)
        top, cell = _topk_padded(per.amax(2), k)  # (L, s*s, k)
        best = torch.gather(per, 3, cell[:, :, None].expand(-1, -1, t, -1)).transpose(2, 3).contiguous().argmax(-1)
        idx = best * (u * u) + cell  # (argmax over the last dim: see _unshifted_candidates)
    else:
        top, idx = _topk_padded(sims.reshape(tiles, s * s, t * u * u), k)  # (L, s*s, k)
    picked = torch.gather(rows, 1, idx.reshape(tiles, -1)).reshape(tiles, s * s, k)
    return _untile(top, h, w, s), _untile(picked, h, w, s)


def _bf16_is_fast(device: torch.device) -> bool:
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    from ..policy import cpu_native_bf16

    return cpu_native_bf16()


_FAST: dict[str, bool] = {}


def readout(query: torch.Tensor, memory: MemoryState, *, config: ReadoutConfig = ReadoutConfig(),
            positions: torch.Tensor | None = None) -> torch.Tensor:
    """query (C, h, w) unit-norm embedding of the current frame -> (V, h, w) label readout.

    ``positions`` (T, 2, h, w) are the current frame's window centres in each recent frame (cells);
    default: memory.positions as they are (e.g. no flow: every window centred on the same cell).
    Each output pixel is a convex combination of memory values, so normalised values stay normalised.
    """
    c, h, w = query.shape
    if memory.long_keys.shape[0] != c or (memory.recent and tuple(memory.keys.shape[1:]) != (c, h, w)):
        raise ValueError(f"memory keys {tuple(memory.long_keys.shape)} / {tuple(memory.keys.shape)} do not fit "
                         f"the query embedding {(c, h, w)}")
    query = query.float()
    fast = config.fast_select and _FAST.setdefault(str(query.device), _bf16_is_fast(query.device))
    qs = query.to(torch.bfloat16) if fast else query
    q = qs.reshape(c, h * w).t()
    m = memory.long_keys.shape[1]
    value_rows = [memory.long_values.t()]
    penalty = config.long_window_penalty if memory.long_shape == (h, w) else 0.0
    sims, rows = _global_candidates(q, memory.long_keys, config.topk, grid=(h, w), radius=config.radius, penalty=penalty,
                                    cells=memory.long_cells)
    if memory.recent:
        pos = memory.positions if positions is None else positions
        ls, lr = _local_candidates(qs, memory.keys, pos, config, memory.caches)
        sims, rows = torch.cat([sims.to(ls.dtype), ls], 1), torch.cat([rows, lr + m], 1)
        sims, idx = sims.topk(config.topk, dim=1)
        rows = torch.gather(rows, 1, idx)
        value_rows.append(memory.values.permute(0, 2, 3, 1).reshape(-1, memory.values.shape[1]))
    masked = sims.float() <= _MASKED / 2
    values_t = torch.cat(value_rows).float()
    flat = rows.reshape(-1)
    # Exact fp32 similarities of the chosen candidates (the selection may have used bf16), as one
    # batched product (N, k, C) x (N, C, 1): 2 ms at 864x480 where a broadcast multiply and sum took 12.
    if memory.table is not None and memory.slots is not None and len(memory.slots) == memory.recent:
        hw = h * w  # recent frame f's pixel p is row m + f hw + p of the candidates, m + slot(f) hw + p of the table
        local = (flat - m).clamp_min(0)
        slot = torch.as_tensor(memory.slots, device=flat.device)[local // hw]
        picked = memory.table.index_select(0, torch.where(flat >= m, m + slot * hw + local % hw, flat))
    else:  # a state made outside a session (training, tests): its keys stacked as the candidates number them
        picked = torch.cat([memory.long_keys.t(), memory.keys.permute(0, 2, 3, 1).reshape(-1, c)]).float().index_select(0, flat)
    picked = picked.reshape(*rows.shape, c)
    exact = torch.bmm(picked, query.reshape(c, -1).t()[:, :, None])[..., 0]
    if penalty:
        exact = exact - penalty * ((rows < m) & _outside_window(rows, (h, w), config.radius, memory.long_cells))
    if memory.long_mass is not None:  # weight x mass, as log(mass) on the logit (the softmax divides by temperature)
        lm = torch.log(memory.long_mass.float()) * config.temperature
        exact = exact + torch.where(rows < m, lm[rows.clamp_max(m - 1)], 0.0)
    exact = exact.masked_fill(masked, _MASKED)
    vals = values_t.index_select(0, flat).reshape(*rows.shape, -1)
    if config.null_similarity is not None and (config.null_with_recent or not memory.recent):
        exact = torch.cat([exact, exact.new_full((exact.shape[0], 1), config.null_similarity)], 1)
        null = vals.new_zeros(vals.shape[0], 1, vals.shape[-1])
        null[..., 0] = 1.0
        vals = torch.cat([vals, null], 1)
    weights = torch.softmax(exact / config.temperature, dim=1)  # (N, k [+ 1])
    out = torch.einsum("nk,nkv->nv", weights, vals)
    return out.t().reshape(-1, h, w)
