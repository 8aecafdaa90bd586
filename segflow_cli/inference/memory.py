"""The per-video space-time memory a VideoSession owns (the network itself stays stateless).

Long-term: the annotated frame(s), kept for the whole video and read globally. Recent: ``frames``
frames, the last ``near`` ones whatever their index and before them one every ``every`` frames (XMem's
"every few frames" reaches further back at the same cost, while the nearest frames still follow fast
motion), first in first out, each with its window centres (chained by the flow). Its size is bounded by
``frames`` plus the annotated frames, whatever the video's length. Keys (C, h, w) are unit-norm stride-8 embeddings; values (V, h, w) the frame's soft
[background, object 1..K] probabilities on the same grid.
"""

from __future__ import annotations

from collections import deque

import torch
import torch.nn.functional as F

from ..models.memory import MemoryState, identity_positions


KEY_STRIDE = 8  # the keys' grid: stride 8 of the network's padded input (ops.InputPadder, stride 32)
# The annotated frame, read globally by every pixel of every frame, keeps every cell within LONG_MARGIN cells
# of an object but only one background cell in LONG_STRIDE x LONG_STRIDE elsewhere, each counting for the
# cells it replaced (SpaceTimeMemory._long_term). The global read is a compute-bound N x M product; this
# keeps M at 15-35 % of the grid with the same J on generated clips (benchmarks/RESULTS.md, stop 40).
LONG_STRIDE = 3
LONG_MARGIN = 3
# Predicted frames read globally beside the annotated ones (SpaceTimeMemory keep_frames / keep_every): the last
# KEEP_FRAMES frames whose index is a multiple of KEEP_EVERY and in which every object wins KEEP_MIN_CELLS cells.
KEEP_FRAMES = 0
KEEP_EVERY = 10
KEEP_MIN_CELLS = 4


def _grid_pads(size: tuple[int, int], grid: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) padding from an (H, W) frame to the padded frame under ``grid``,
    split as the network's InputPadder splits it; ValueError if the grid does not cover the frame."""
    (h, w), (gh, gw) = size, grid
    ph, pw = gh * KEY_STRIDE - h, gw * KEY_STRIDE - w
    if not (0 <= ph < 32 and 0 <= pw < 32):
        raise ValueError(f"a {w}x{h} frame does not match a {gw}x{gh} key grid (stride {KEY_STRIDE} of its padded size)")
    return pw // 2, pw - pw // 2, ph // 2, ph - ph // 2


def values_on_grid(allp: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(V, H, W) normalised probabilities of a frame -> (V, h, w) area-pooled onto its key grid.

    The keys live on the padded frame (the network pads to its stride, centred), so the
    probabilities are padded the same way first: pooling the unpadded frame onto the padded grid
    would stretch the labels against the keys."""
    if tuple(allp.shape[-2:]) == tuple(grid):
        return allp.float()
    pads = _grid_pads(tuple(allp.shape[-2:]), tuple(grid))
    x = F.pad(allp[None].float(), pads, mode="replicate") if any(pads) else allp[None].float()
    return F.avg_pool2d(x, KEY_STRIDE)[0]


def grid_to_frame(values: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(V, h, w) values on a key grid -> (V, H, W) on the (unpadded) frame: bilinear to the padded
    frame, then the padding cropped off (the inverse placement of ``values_on_grid``)."""
    gh, gw = values.shape[-2:]
    if tuple(size) == (gh, gw):
        return values
    left, _, top, _ = _grid_pads(tuple(size), (gh, gw))
    up = F.interpolate(values[None], size=(gh * KEY_STRIDE, gw * KEY_STRIDE), mode="bilinear", align_corners=False)[0]
    return up[:, top:top + size[0], left:left + size[1]]


def sharpen(value: torch.Tensor, power: float) -> torch.Tensor:
    """(V, h, w) probabilities -> raised to ``power`` and renormalised over V (1: unchanged)."""
    if power == 1.0:
        return value
    v = value.clamp_min(0) ** power
    return v / v.sum(0, keepdim=True).clamp_min(1e-12)


class SpaceTimeMemory:
    """frames, every, near: see the module docstring. power: a predicted frame's values join the memory
    raised to this power and renormalised (``sharpen``). Why: a readout is a soft average, uncertain
    where the object's look changes (motion blur, turning, scale); read back from the memory every
    frame, that uncertainty compounds into an object that shrinks frame after frame (DAVIS: the
    object mostly missed, hardly any false positives). A power above 1 keeps the readout's decision
    and undoes part of its blur before it is re-read; it also makes errors stick, so it trades
    shrinking objects for bleeding ones (benchmarks/RESULTS.md, stop 22: off by default).
    long_stride, long_margin: the annotated frames' background lattice and the margin kept whole around
    the objects (None: LONG_STRIDE, LONG_MARGIN; long_stride=1 keeps every cell).
    keep_frames, keep_every: besides the annotated frames, the last ``keep_frames`` predicted frames whose
    index is a multiple of ``keep_every`` and that still hold every object are read globally too, like
    the annotated ones (XMem's long-term memory, Cutie's permanent memory): the recent frames reach 14
    frames back and only within their windows, so a look the object took after the annotated frame (a
    child who stood up, a car grown to twice its size) is otherwise forgotten once it leaves them, and
    cannot be found again elsewhere. 0: annotated frames only. None: KEEP_FRAMES, KEEP_EVERY."""

    def __init__(self, *, frames: int = 6, every: int = 1, near: int = 0, power: float = 1.0,
                 long_stride: int | None = None, long_margin: int | None = None, keep_frames: int | None = None,
                 keep_every: int | None = None) -> None:
        long_stride = LONG_STRIDE if long_stride is None else long_stride
        long_margin = LONG_MARGIN if long_margin is None else long_margin
        keep_frames = KEEP_FRAMES if keep_frames is None else keep_frames
        keep_every = KEEP_EVERY if keep_every is None else keep_every
        if (frames < 0 or every < 1 or not 0 <= near <= frames or not power > 0 or long_stride < 1 or long_margin < 0
                or keep_frames < 0 or keep_every < 1):
            raise ValueError(f"memory needs frames >= 0, every >= 1, 0 <= near <= frames, power > 0, long_stride >= 1, "
                             f"long_margin >= 0, keep_frames >= 0 and keep_every >= 1, got frames={frames}, every={every}, "
                             f"near={near}, power={power}, long_stride={long_stride}, long_margin={long_margin}, "
                             f"keep_frames={keep_frames}, keep_every={keep_every}")
        self.frames, self.every, self.near, self.power = int(frames), int(every), int(near), float(power)
        self.long_stride, self.long_margin = int(long_stride), int(long_margin)
        self.keep_frames, self.keep_every = int(keep_frames), int(keep_every)
        self._kept: deque = deque()  # (key (C, h * w), value (V, h * w), index) of predicted frames read globally
        self._long_k: list[torch.Tensor] = []
        self._long_v: list[torch.Tensor] = []
        self._long_shapes: list[tuple[int, int]] = []
        self._long_state: tuple | None = None  # (keys, values, cells, mass) of the long-term frames, until they change
        # Every key the readout may re-score, as one (M + frames * h * w, C) fp32 row table: the long-term
        # frames first, then one slot of h * w rows per recent frame (its slot in its cache), written once
        # when the frame joins; rebuilt when the long-term frames change. A frame's candidates are then
        # gathered by one index_select instead of one per frame plus a copy (models.memory.readout).
        self._table: torch.Tensor | None = None
        self._recent: deque = deque()
        self._positions: torch.Tensor | None = None

    def __len__(self) -> int:
        """Frames held: annotated, kept and recent."""
        return len(self._long_k) + len(self._kept) + (len(self._recent) if self.frames else 0)

    def add_long_term(self, key: torch.Tensor, value: torch.Tensor, *, new: list[int] = ()) -> None:
        """An annotated frame: key (C, h, w), value (V, h, w); read globally for the rest of the video.

        ``new``: value channels of objects first annotated in this frame. Earlier annotated frames
        called those pixels background only because nobody had named them yet (a person standing in
        the back from the first frame on, annotated at frame 8); their labels for the new objects are
        read back from this frame (a readout of their keys against it), taken from their background
        only, so they do not vote against the new objects."""
        key, value = key.float(), value.float()
        if new and self._long_k:
            from ..models.memory import ReadoutConfig, readout

            c, h, w = key.shape
            here = MemoryState(long_keys=key.reshape(c, -1), long_values=value.reshape(value.shape[0], -1),
                               keys=key.new_zeros(0, c, 1, 1), values=key.new_zeros(0, value.shape[0], 1, 1),
                               positions=key.new_zeros(0, 2, 1, 1))
            idx = torch.as_tensor(list(new), device=key.device)
            for i, (k, v) in enumerate(zip(self._long_k, self._long_v)):
                read = readout(k.reshape(c, *self._long_shapes[i]), here, config=ReadoutConfig()).flatten(1)
                moved = read[idx] * v[:1]
                v = v.clone()
                v[idx] = v[idx] + moved
                v[0] = (v[0] - moved.sum(0)).clamp_min(0)
                self._long_v[i] = v
        self._kept.clear()  # predictions made before an annotation may hold the errors it corrects (as clear_recent)
        self._globally_read_changed()
        self._long_shapes.append(tuple(key.shape[-2:]))
        self._long_k.append(key.reshape(key.shape[0], -1))
        self._long_v.append(value.reshape(value.shape[0], -1))

    def consider(self, index: int, key: torch.Tensor, value: torch.Tensor) -> None:
        """Frame ``index``'s key and value. Kept as recent frames: the last ``near`` frames whatever their
        index, and before them the last ``frames - near`` frames whose index is a multiple of ``every``; and,
        with ``keep_frames``, for the global read when its index is a multiple of ``keep_every`` (``_keep``)."""
        if self.keep_frames and index % self.keep_every == 0:
            self._keep(index, key, value)
        if self.frames == 0 or (self.near == 0 and index % self.every):
            return
        h, w = key.shape[-2:]
        ident = identity_positions(h, w, device=key.device)[None]
        pos = ident if self._positions is None or not len(self._recent) else torch.cat([self._positions, ident])
        self._recent.append((key.float(), sharpen(value.float(), self.power), index, {}))  # {}: the readout's layouts
        n, far = len(self._recent), self.frames - self.near
        older = [i for i in range(n - self.near) if self._recent[i][2] % self.every == 0]
        kept = (older[-far:] if far else []) + list(range(max(n - self.near, 0), n))
        if len(kept) < n:  # a frame leaves: the oldest, or one that left the near frames off the spacing
            self._recent = deque(self._recent[i] for i in kept)
            pos = pos[kept]
        self._positions = pos

    def _keep(self, index: int, key: torch.Tensor, value: torch.Tensor) -> None:
        """A predicted frame joins the globally read frames if every object holds at least KEEP_MIN_CELLS
        cells of it (a frame where one is lost or hidden would vote background for it everywhere)."""
        if not self._long_shapes or tuple(key.shape[-2:]) != self._long_shapes[0]:
            return  # the readout's cell bookkeeping needs one grid for every globally read frame
        v = sharpen(value.float(), self.power).reshape(value.shape[0], -1)
        won = torch.bincount(v.argmax(0), minlength=v.shape[0])[1:]
        if bool((won < KEEP_MIN_CELLS).any()):
            return
        self._kept.append((key.float().reshape(key.shape[0], -1), v, index))
        if len(self._kept) > self.keep_frames:
            self._kept.popleft()
        self._globally_read_changed()

    def _globally_read_changed(self) -> None:
        """The annotated or kept frames changed: their joined keys (and so the row table) are built again
        at the next state()."""
        self._long_state = None
        self._table = None

    def clear_recent(self) -> None:
        """Drop the predicted frames, recent and kept: an annotation supersedes what was predicted before it
        (those frames knew nothing of objects added there and may hold the errors it corrects)."""
        self._recent.clear()
        self._positions = None
        if self._kept:
            self._kept.clear()
            self._globally_read_changed()

    def grow(self, channels: int) -> None:
        """Objects were added: pad every stored value to ``channels`` (the new objects absent before)."""
        pad = lambda v: torch.cat([v, v.new_zeros(channels - v.shape[0], *v.shape[1:])]) if v.shape[0] < channels else v  # noqa: E731
        self._long_v = [pad(v) for v in self._long_v]
        self._long_state = None
        self._recent = deque([(k, pad(v), i, c) for k, v, i, c in self._recent], maxlen=self._recent.maxlen)
        self._kept = deque((k, pad(v), i) for k, v, i in self._kept)

    def set_positions(self, positions: torch.Tensor | None) -> None:
        """The recent frames' window centres for the frame just read (from the network's flow)."""
        if positions is not None and self._recent:
            self._positions = positions.reshape(len(self._recent), 2, *positions.shape[-2:])

    def state(self) -> MemoryState:
        if not self._long_k:
            raise ValueError("the memory holds no annotated frame yet")
        if self._long_state is None:  # built once, not once a frame: the long-term frames rarely change
            self._long_state = self._long_term()
        lk, lv, cells, mass = self._long_state
        table, slots = None, None
        if self._recent and self.frames:
            keys = torch.stack([k for k, _, _, _ in self._recent])
            values = torch.stack([v for _, v, _, _ in self._recent])
            positions = self._positions
            caches = [c for _, _, _, c in self._recent]
            table, slots = self._row_table(lk, keys)
        else:
            c = lk.shape[0]
            keys, values = lk.new_zeros(0, c, 1, 1), lk.new_zeros(0, lv.shape[0], 1, 1)
            positions = lk.new_zeros(0, 2, 1, 1)
            caches = None
        shape = self._long_shapes[0] if len(set(self._long_shapes)) == 1 else None
        return MemoryState(long_keys=lk, long_values=lv, keys=keys, values=values, positions=positions, long_shape=shape,
                           caches=caches, table=table, slots=slots, long_cells=cells,
                           long_mass=mass)

    def _long_term(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The long-term frames as the readout reads them: keys (C, M), values (V, M), and, when cells were
        left out, each column's cell (M,) and mass (M,) (MemoryState.long_cells, long_mass).

        Kept: every cell within long_margin cells of an object (object probability above 0.05 after a
        max filter of that radius), where the labels change and the readout needs every match, and one
        cell in long_stride x long_stride elsewhere, counting for the left-out cells of its block: a
        background a dense memory held in S^2 copies still outvotes an object's look-alike there (without
        the mass the sparser lattices lost J on generated clips with twins, stop 40)."""
        all_k = self._long_k + [k for k, _, _ in self._kept]
        all_v = self._long_v + [v for _, v, _ in self._kept]
        if self.long_stride <= 1 or len(set(self._long_shapes)) != 1:
            return torch.cat(all_k, 1), torch.cat(all_v, 1), None, None
        h, w = self._long_shapes[0]
        s, m, o = self.long_stride, self.long_margin, self.long_stride // 2
        keep, masses = [], []
        for v in all_v:
            obj = (1.0 - v[0]).reshape(1, 1, h, w)
            near = F.max_pool2d(obj, 2 * m + 1, stride=1, padding=m)[0, 0] > 0.05
            lattice = torch.zeros(h, w, dtype=torch.bool, device=v.device)
            lattice[o::s, o::s] = True
            # left-out cells per S x S block; the lattice cell of block (i, j) sits at (i S + o, j S + o)
            left = F.avg_pool2d((~near).float()[None, None], s, stride=s, ceil_mode=True, divisor_override=1)[0, 0]
            mass = torch.ones(h, w, device=v.device)
            reps = mass[o::s, o::s]
            mass[o::s, o::s] = left[:reps.shape[0], :reps.shape[1]] + near[o::s, o::s].float()  # itself counted once
            idx = torch.nonzero((near | lattice).reshape(-1))[:, 0]
            keep.append(idx)
            masses.append(mass.reshape(-1)[idx].clamp_min(1.0))
        keys = torch.cat([k[:, i] for k, i in zip(all_k, keep)], 1)
        values = torch.cat([v[:, i] for v, i in zip(all_v, keep)], 1)
        return keys, values, torch.cat(keep), torch.cat(masses)

    def _row_table(self, long_keys: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        """The row table (see __init__) with every recent frame in a slot -> (table, slot per recent frame)."""
        c, m = long_keys.shape
        hw = keys.shape[-2] * keys.shape[-1]
        rows = m + self.frames * hw
        if self._table is None or tuple(self._table.shape) != (rows, c) or self._table.device != keys.device:
            self._table = long_keys.new_empty(rows, c)
            self._table[:m] = long_keys.t()
            for _, _, _, cache in self._recent:
                cache.pop("slot", None)  # every frame is written again
        used = {cache["slot"] for _, _, _, cache in self._recent if "slot" in cache}
        free = [s for s in range(self.frames) if s not in used]
        for key, _, _, cache in self._recent:
            if "slot" not in cache:
                cache["slot"] = s = free.pop(0)
                self._table[m + s * hw:m + (s + 1) * hw] = key.reshape(c, hw).t()
        return self._table, [cache["slot"] for _, _, _, cache in self._recent]
