"""A stateful per-video session over a stateless network (like Cutie's InferenceCore).

    session = create_session(method="segflow")
    for res in session.propagate(frames, first_mask=mask0):   # frames: iterable of (H, W, 3) uint8
        res.mask  # (H, W) uint8 object ids, at the input size

Per frame t >= 1 the network takes (frame t, frame t-1): its flow t -> t-1 (the backward flow)
warps the objects' probabilities of frame t-1 onto frame t and, with the card's
memory_flow_windows, centres the windows of the space-time memory (memory.py: the annotated frame,
read globally, and a few recent frames, read locally); the memory's readout is the prior that, with matching against the annotated frame, the
image features and the fused flow features, gives each object's logits; soft aggregation makes one
id map, which joins the memory.

Methods: "segflow" (the joint network with memory), "propagate" (the memory readout alone over the
network's memory key: no decoder, no flow; the default), "dis-warp" (OpenCV DIS warping alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch

from ..classical.cuts import colour_histogram, is_cut
from ..errors import SegflowError
from .aggregate import ids_to_onehot, probs_to_ids, readout_aggregate, soft_aggregate
from .memory import SpaceTimeMemory, grid_to_frame, values_on_grid
from .runner import PairRunner, internal_size, resize_flow

from .methods import (EDGE_EPS, EDGE_RADIUS, EDGE_SCALE, MASK_THRESHOLD, MEMORY_EVERY, MEMORY_FRAMES, MEMORY_NEAR, MEMORY_POWER,
                      SEGMENT_DEFAULT, SEGMENT_MAX_SIZE)
from .methods import SEGMENT_METHODS as METHODS  # the one list (torch-free: --help reads it)


@dataclass
class FrameResult:
    """index: frame number from the session start; mask: (H, W) uint8 ids; alpha: (H, W) float32
    foreground probability; flow: (H, W, 2) float32 flow from this frame to the previous one (the
    direction used to carry the masks), None for the first frame; cut: a hard scene cut precedes it."""

    index: int
    mask: np.ndarray
    alpha: np.ndarray
    flow: np.ndarray | None
    cut: bool = False  # a hard scene cut lies between the previous frame and this one
    replayed: bool = False  # restored from an earlier run's mask (``resume``), not predicted now


class VideoSession:
    """method "segflow" runs the joint network; "propagate" reads labels from the memory alone (the
    network's memory key, nothing learnt on top); "dis-warp" carries masks with OpenCV DIS flow
    alone (plain backward warping of the object probabilities, the classical baseline).

    memory_frames: recent frames the memory keeps (0: only the annotated frame); memory_near: the last
    so many of them are kept whatever their index, the others one frame in ``memory_every``
    (inference.memory.SpaceTimeMemory); memory=False: the network without memory (the flow-warped prior only);
    memory_power: predicted frames join the memory with their values raised to it, renormalised
    (inference.memory.sharpen; 1: as read).
    threshold: the shown mask's decision (aggregate.probs_to_ids; 0.5: the plain argmax), outputs only.
    edge_radius, edge_eps: edge refinement of the output (ops.guided_filter with the colour frame as
    guide, radius in internal pixels; 0: off): propagate's upsampled readout, segflow's probabilities
    (with memory; validated on generated clips for both).
    """

    def __init__(self, runner: PairRunner | None, *, method: str = SEGMENT_DEFAULT, max_size: int = SEGMENT_MAX_SIZE,
                 finetune_steps: int = 0, compute_flow: bool = True, memory: bool = True,
                 memory_frames: int = MEMORY_FRAMES, memory_every: int = MEMORY_EVERY, memory_near: int = MEMORY_NEAR,
                 readout_weight: float = 0.0,
                 edge_radius: int = EDGE_RADIUS, edge_eps: float = EDGE_EPS, memory_power: float = MEMORY_POWER,
                 threshold: float = MASK_THRESHOLD) -> None:
        if method not in METHODS:
            raise SegflowError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
        if method != "dis-warp" and runner is None:
            raise SegflowError(f"method {method} needs a network runner")
        if memory_near > memory_frames >= 0:
            raise SegflowError(f"memory_near={memory_near} is more than memory_frames={memory_frames}; give at most "
                               f"{memory_frames} (the near frames are among the recent ones)",
                               cli=f"--memory-near {memory_near} is more than --memory-frames {memory_frames}; give at most "
                                   f"{memory_frames} (the near frames are among the recent ones)")
        if memory_frames < 0 or memory_every < 1 or not 0 <= memory_near <= memory_frames or not memory_power > 0:
            raise SegflowError(f"memory_frames must be >= 0, memory_every >= 1, memory_near between 0 and memory_frames "
                               f"and memory_power > 0 (got {memory_frames}, {memory_every}, {memory_near}, {memory_power})")
        self.memory_power = float(memory_power)
        self.use_memory = bool(memory) and method != "dis-warp" and runner is not None and runner.supports_memory
        if method == "propagate" and finetune_steps:
            raise SegflowError("finetune_steps trains the decoder, which method propagate does not use; use method segflow",
                               cli="--finetune-steps trains the decoder, which --method propagate (the default) does not use; "
                                   "add --method segflow")
        if method == "propagate" and not memory:
            raise SegflowError("memory=False leaves method propagate (the memory readout) nothing to read; use method "
                               "segflow for the network without its memory",
                               cli="--no-memory leaves --method propagate (the default: the memory readout) nothing to read; "
                                   "add --method segflow for the network without its memory")
        if method == "propagate" and not self.use_memory:
            raise SegflowError("method propagate needs a network with a memory embedding (segflow-lite weights)",
                               cli="--method propagate needs weights with a memory embedding; give --weights segflow-lite "
                                   "or --method segflow")
        self.memory_frames, self.memory_every, self.memory_near = int(memory_frames), int(memory_every), int(memory_near)
        if not 0.0 <= readout_weight <= 1.0:
            raise SegflowError(f"readout_weight={readout_weight}: must lie in [0, 1]")
        self.readout_weight = float(readout_weight)
        if edge_radius < 0 or edge_eps <= 0:
            raise SegflowError(f"edge_radius must be >= 0 and edge_eps > 0 (got {edge_radius}, {edge_eps})")
        self.edge_radius, self.edge_eps = int(edge_radius), float(edge_eps)
        if not 0.0 < threshold < 1.0:
            raise SegflowError(f"threshold={threshold}: must lie strictly between 0 and 1 (default {MASK_THRESHOLD})",
                               cli=f"--threshold {threshold}: must lie strictly between 0 and 1 (default {MASK_THRESHOLD})")
        self.threshold = float(threshold)
        self.runner, self.method, self.max_size = runner, method, int(max_size)
        self.finetune_steps, self.compute_flow = int(finetune_steps), compute_flow
        self.finetune_seconds = 0.0
        self._pristine = None if runner is None else {k: v.clone() for k, v in runner.model.state_dict().items()}
        self.device = runner.device if runner is not None else torch.device("cpu")

    def start(self, frame: np.ndarray, mask: np.ndarray | None = None, *, box=None, point=None) -> FrameResult:
        """Begin a video at ``frame`` (H, W, 3) uint8 with its object-id ``mask`` (H, W), or with prompts:
        ``box`` (x0, y0, x1, y1) or a list of them, ``point`` (x, y) or a list of them (one object each,
        ids 1, 2, ...; see prompts.py). The mask made from a prompt is the first result's mask."""
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise SegflowError(f"frames must be (H, W, 3) RGB, got shape {frame.shape}")
        if sum(x is not None for x in (mask, box, point)) != 1:
            raise SegflowError("start needs exactly one of mask, box or point")
        if box is not None:
            from .prompts import mask_from_boxes

            mask = mask_from_boxes(frame, [box] if np.isscalar(box[0]) else list(box))
        elif point is not None:
            from .prompts import mask_from_points

            pts = [point] if np.isscalar(point[0]) else list(point)
            mask = mask_from_points(frame, pts, self._embedder())
        if mask.shape != frame.shape[:2]:
            raise SegflowError(
                f"mask is {mask.shape[1]}x{mask.shape[0]} but the frames are {frame.shape[1]}x{frame.shape[0]}; "
                "give the mask of the first frame at the video's size")
        self.object_ids = [int(i) for i in np.unique(mask) if i != 0]
        if not self.object_ids:
            raise SegflowError("the first-frame mask marks no object (all background); paint the object(s) with non-zero ids")
        self.height, self.width = frame.shape[:2]
        self.size = internal_size(self.width, self.height, self.max_size)
        if self.runner is not None:
            self.runner.model.load_state_dict(self._pristine)  # every video starts from the shipped weights
        self._prev = self._prepare(frame)
        onehot = ids_to_onehot(mask, self.object_ids, self.size).to(self.device)
        allp = soft_aggregate(onehot)
        self._probs = allp[1:]  # (K, h, w) object probabilities of the last frame
        self.memory = None
        if self.use_memory:  # the key encoder is frozen: fine-tuning below leaves the memory's keys valid
            self.memory = SpaceTimeMemory(frames=self.memory_frames, every=self.memory_every, near=self.memory_near,
                                          power=self.memory_power)
            key = self.runner.embed(self._prev)[0]
            self.memory.add_long_term(key, values_on_grid(allp, key.shape[-2:]))
        if self.runner is not None and self.finetune_steps > 0:
            from .finetune import finetune_on_first_frame

            self.finetune_seconds = finetune_on_first_frame(
                self.runner, frame, mask, self.object_ids, self.size, steps=self.finetune_steps,
                memory=self.memory.state() if self.memory is not None else None)
        self._reference = None
        if self.runner is not None and self.method == "segflow":  # after fine-tuning: the trunk encodes it
            self._reference = self.runner.encode_reference(self._prev, onehot[None])
        self.index = 0
        self.cuts: list[int] = []
        self._hist = colour_histogram(self._prev[0])
        alpha = (mask != 0).astype(np.float32)
        return FrameResult(index=0, mask=mask.astype(np.uint8), alpha=alpha, flow=None)

    def _embedder(self):
        """frame -> (C, h, w) memory key at this session's internal size (for point prompts)."""
        if self.runner is None or not self.runner.supports_memory:
            raise SegflowError("point prompts need the network's embedding; use method segflow or propagate, or a box")
        return self.runner.embedder(self.max_size)

    def _prepare(self, frame: np.ndarray):
        if self.runner is not None:
            return self.runner.prepare(frame, self.size)
        import cv2

        small = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA) if frame.shape[1::-1] != self.size else frame
        return small, None

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None) -> FrameResult:
        """Segment the next frame (H, W, 3) uint8 of the video. ``mask`` (H, W) ids, when given, is an
        annotation of this frame: ids new to the video are added as objects, ids already followed are
        re-anchored to it, the others keep their prediction; the frame then joins the memory's
        annotated (long-term) frames and the recent frames before it are dropped."""
        res = self._predict(frame)
        return res if mask is None else self._anchor(res, mask)

    def _anchor(self, res: FrameResult, mask: np.ndarray) -> FrameResult:
        if mask.shape != (self.height, self.width):
            raise SegflowError(f"the mask of frame {res.index} is {mask.shape[1]}x{mask.shape[0]} but the frames are "
                               f"{self.width}x{self.height}")
        given = [int(i) for i in np.unique(mask) if i != 0]
        combined = res.mask.copy()
        combined[np.isin(combined, given)] = 0  # re-anchored objects drop their prediction
        combined[mask != 0] = mask[mask != 0]
        new = [i for i in given if i not in self.object_ids]
        self.object_ids += new
        onehot = ids_to_onehot(combined, self.object_ids, self.size).to(self.device)
        allp = soft_aggregate(onehot)
        self._probs = allp[1:]
        if self.method == "segflow" and self._reference is not None:
            self._reference = self.runner.encode_reference(self._prev, onehot[None])
        if self.memory is not None:
            self.memory.grow(len(self.object_ids) + 1)
            key = self.runner.embed(self._prev)[0]
            values = values_on_grid(allp, key.shape[-2:])
            self.memory.clear_recent()
            self.memory.add_long_term(key, values, new=[1 + self.object_ids.index(i) for i in new])
        return FrameResult(index=res.index, mask=combined, alpha=(combined != 0).astype(np.float32), flow=res.flow,
                           cut=res.cut)

    def _check_cut(self, cur) -> bool:
        """Whether a hard scene cut lies between the previous frame and the prepared ``cur``. Nothing
        carries across a cut: the recent frames of the other shot are dropped (the caller drops the
        flow-warped prior); only the annotated frames can say whether the objects are in the new shot."""
        hist = colour_histogram(cur[0])
        cut = is_cut(self._hist, hist)
        self._hist = hist
        if cut:
            self.cuts.append(self.index + 1)
            if self.memory is not None:
                self.memory.clear_recent()
        return cut

    def _predict(self, frame: np.ndarray) -> FrameResult:
        if not hasattr(self, "_prev"):
            raise SegflowError("call start(frame, mask) before step(frame)")
        if frame.shape[:2] != (self.height, self.width):
            raise SegflowError(f"frame size changed mid-video: {frame.shape[1]}x{frame.shape[0]}, expected {self.width}x{self.height}")
        cur = self._prepare(frame)
        key = None
        cut = self._check_cut(cur)
        if cut:
            self._probs = torch.zeros_like(self._probs)
        if self.method == "propagate":
            return self._predict_by_readout(cur, cut)
        if self.method == "segflow":
            mem = self.memory.state() if self.memory is not None else None
            out = self.runner.run(cur, self._prev, prev_probs=self._probs[None], reference=self._reference, memory=mem)
            probs, flow = torch.sigmoid(out.seg_logits[0]), out.flow
            if self.memory is not None:
                self.memory.set_positions(out.positions)
                key = out.embedding[0]
                if self.readout_weight > 0 and out.readout is not None:
                    up = grid_to_frame(out.readout[0, 1:], tuple(probs.shape[-2:]))
                    probs = (1 - self.readout_weight) * probs + self.readout_weight * up
        else:
            from ..ops import backward_warp
            from ..classical import dis_flow

            flow = torch.from_numpy(dis_flow(cur[0], self._prev[0])).permute(2, 0, 1)[None]
            probs = backward_warp(self._probs[None], flow)[0]
        if self.method == "segflow" and out.readout_full is not None and not self.readout_weight:
            allp = readout_aggregate(out.seg_logits[0].float(), out.readout_full[0].float())
        else:
            allp = soft_aggregate(probs)
        self._probs, self._prev = allp[1:], cur
        self.index += 1
        if key is not None:
            self.memory.consider(self.index, key, self._memory_value(allp, key, out.readout, out.readout_full))
        if self.method == "segflow" and self.memory is not None and self.edge_radius:  # output only: prior/memory keep allp
            allp = self._shown(allp, cur[1])
        ids, alpha = probs_to_ids(allp, self.object_ids, self.width, self.height, threshold=self.threshold)
        flow_np = resize_flow(flow, self.width, self.height) if self.compute_flow else None
        return FrameResult(index=self.index, mask=ids, alpha=alpha, flow=flow_np, cut=cut)

    def _predict_by_readout(self, cur, cut: bool) -> FrameResult:
        """``propagate``'s step on the prepared frame ``cur``: the memory readout alone is the prediction
        (no decoder); the network's flow is computed only for the outputs (masks do not need it)."""
        flow = None
        if self.compute_flow and hasattr(self.runner.model, "flow_and_embedding"):
            flow, key = self.runner.flow_and_embedding(cur, self._prev)  # one trunk pass for both
            key = key[0]
        else:
            key = self.runner.embed(cur)[0]
        read = self.runner.read_memory(key, self.memory.state())  # (K + 1, h8, w8)
        allp = self._shown(grid_to_frame(read, (self.size[1], self.size[0])), cur[1])
        prev = self._prev
        self._probs, self._prev = allp[1:], cur
        self.index += 1
        self.memory.consider(self.index, key, read)
        ids, alpha = probs_to_ids(allp, self.object_ids, self.width, self.height, threshold=self.threshold)
        flow_np = None
        if self.compute_flow:
            flow = flow if flow is not None else self.runner.flow(cur, prev)
            flow_np = resize_flow(flow, self.width, self.height)
        return FrameResult(index=self.index, mask=ids, alpha=alpha, flow=flow_np, cut=cut)

    def _shown(self, up: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """up (V, h, w) the readout upsampled to the internal frame (or segflow's probabilities), image
        (1, 3, h, w) that frame in [0, 1] -> (V, h, w) normalised probabilities to show, with edges
        snapped to the image's (colour guided filter; the 8-px soft edges of the bilinear upsampling
        cost J and F). The memory keeps the unrefined values: refined ones pooled back into it scored
        lower on validation."""
        if self.edge_radius:
            from ..ops import guided_filter

            up = guided_filter(up, image[0].to(up.device), radius=self.edge_radius, eps=self.edge_eps,
                               scale=EDGE_SCALE).clamp_min_(0)
        return up / up.sum(0, keepdim=True).clamp_min(1e-6)

    @staticmethod
    def _memory_value(allp: torch.Tensor, key: torch.Tensor, read: torch.Tensor | None,
                      read_full: torch.Tensor | None = None) -> torch.Tensor:
        """The (V, h, w) value a frame joins the memory with, from its (V, H, W) probabilities. With a
        readout (1, V, h, w) behind them, the readout plus the pooled change the network made to it:
        pooling a bilinearly upsampled grid blurs it, and that blur, compounded frame after frame
        through the memory, cost 1.3 points of J on validation clips (0.775 -> 0.762). ``read_full``
        (1, V, H, W): that readout already upsampled by the network (gated variants), reused."""
        grid = key.shape[-2:]
        if read is None or tuple(read.shape[-2:]) != tuple(grid):
            return values_on_grid(allp, grid)
        read = read[0].float()
        up = read_full[0].float() if read_full is not None else grid_to_frame(read, tuple(allp.shape[-2:]))
        up = up / up.sum(0, keepdim=True).clamp_min(1e-6)
        v = (read + values_on_grid(allp - up, grid)).clamp_min(0)
        return v / v.sum(0, keepdim=True).clamp_min(1e-6)

    def restore(self, frame: np.ndarray, mask: np.ndarray, *, annotated: bool = False, remember: bool = True) -> FrameResult:
        """Take the next frame with its known ids ``mask`` (H, W) from an earlier run instead of
        predicting it: it becomes the previous frame and, with ``remember``, joins the memory as the
        session would have kept it (``annotated``: an annotated frame, long-term). The flow is computed
        as for a predicted frame (for the outputs); the window centres restart at identity."""
        if not hasattr(self, "_prev"):
            raise SegflowError("call start(frame, mask) before restore(frame, mask)")
        if frame.shape[:2] != (self.height, self.width) or mask.shape != (self.height, self.width):
            raise SegflowError(f"restore needs a frame and mask at the video's size {self.width}x{self.height}")
        cur = self._prepare(frame)
        cut = self._check_cut(cur)
        new = [int(i) for i in np.unique(mask) if i != 0 and int(i) not in self.object_ids]
        self.object_ids += new
        flow = key = None
        need_key = self.memory is not None and (remember or annotated)
        if self.runner is not None and self.compute_flow and hasattr(self.runner.model, "flow_and_embedding"):
            flow, key = self.runner.flow_and_embedding(cur, self._prev)
            key = key[0]
        elif self.compute_flow and self.runner is not None:
            flow = self.runner.flow(cur, self._prev)
        elif self.compute_flow:
            from ..classical import dis_flow

            flow = torch.from_numpy(dis_flow(cur[0], self._prev[0])).permute(2, 0, 1)[None]
        if need_key and key is None:
            key = self.runner.embed(cur)[0]
        onehot = ids_to_onehot(mask, self.object_ids, self.size).to(self.device)
        allp = soft_aggregate(onehot)
        if self.memory is not None:
            self.memory.grow(len(self.object_ids) + 1)
        if self._reference is not None and (new or annotated):
            self._reference = self.runner.encode_reference(cur, onehot[None])
        self._probs, self._prev = allp[1:], cur
        self.index += 1
        if need_key:
            values = values_on_grid(allp, key.shape[-2:])
            if annotated:
                self.memory.clear_recent()
                self.memory.add_long_term(key, values, new=[1 + self.object_ids.index(i) for i in new])
            else:
                self.memory.consider(self.index, key, values)
        flow_np = resize_flow(flow, self.width, self.height) if flow is not None else None
        return FrameResult(index=self.index, mask=mask.astype(np.uint8), alpha=(mask != 0).astype(np.float32),
                           flow=flow_np, cut=cut, replayed=True)

    def resume(self, frames: Iterable[np.ndarray], first_mask: np.ndarray, done: dict[int, np.ndarray],
               masks: dict[int, np.ndarray] | None = None) -> Iterator[FrameResult]:
        """``propagate`` continued after an interrupted run: ``done`` {index: (H, W) ids} holds that run's
        masks for frames 1..n (contiguous); they are replayed (``restore``: the memory is rebuilt from
        them, only the frames it would still hold are embedded) and prediction goes on from n + 1."""
        masks = masks or {}
        n = len(done)
        if sorted(done) != list(range(1, n + 1)):
            raise SegflowError("resume needs the earlier run's masks of frames 1..n without gaps")
        keep = self.memory_frames * self.memory_every
        it = iter(frames)
        try:
            first = next(it)
        except StopIteration:
            raise SegflowError("the video has no frames") from None
        res = self.start(first, first_mask)
        res.replayed = True  # the earlier run wrote it
        yield res
        # Frames the memory may keep for its global read (SpaceTimeMemory keep_frames) are embedded too, every
        # one of them: which of them it keeps depends on which held every object.
        every = self.memory.keep_every if self.memory is not None and self.memory.keep_frames else 0
        for i, frame in enumerate(it, start=1):
            if i <= n:
                kept = bool(every) and i % every == 0
                yield self.restore(frame, done[i], annotated=i in masks, remember=i > n - keep or kept)
            else:
                yield self.step(frame, masks.get(i))

    def propagate(self, frames: Iterable[np.ndarray], first_mask: np.ndarray,
                  masks: dict[int, np.ndarray] | None = None) -> Iterator[FrameResult]:
        """Generator over a stream of frames; the first frame is the annotated one (yielded as given).
        ``masks`` {index: (H, W) ids} annotates later frames (index from the session start): objects
        entering there are followed from then on (see ``step``)."""
        it = iter(frames)
        try:
            first = next(it)
        except StopIteration:
            raise SegflowError("the video has no frames") from None
        masks = masks or {}
        yield self.start(first, first_mask)
        for i, frame in enumerate(it, start=1):
            yield self.step(frame, masks.get(i))
