"""Multi-frame rollouts: the network follows one object through a short generated clip, reading its
own previous predictions and a space-time memory built from them, as a video session does.

Pair training shows the network a perturbed prior and a two-frame memory; on validation clips its
video score stopped following the pairs' score after about 100 steps (benchmarks/RESULTS.md,
gate2). A rollout trains on what the session actually feeds it: frame 0 with its exact mask is the
annotated (long-term) frame and the reference; every later frame t reads the network's own
prediction of frame t-1 (warped by its flow) and a memory of the annotated frame plus the last
``memory_frames`` predicted frames. Predictions are detached between steps (each step's loss trains
that step; the memory values and priors are inputs, as in a session). A fraction ``lose_rate`` of
steps get an empty prior (a lost object) so the network learns to recover from the memory alone.

Shapes: B clips of T frames, (H, W) a multiple of 32 (no padding, so labels pool exactly onto the
stride-8 key grid).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..models.memory import MemoryState, identity_positions
from ..models.transforms import PairTransform
from .losses import iou, seg_loss


def rollout_scene_config(size: tuple[int, int], frames: int, *, photo_dirs=(), reveal_prob: float = 0.0,
                         twin_prob: float = 0.0):
    """Video-like clips (the validation clips' motion, objects kept in view) of ``frames`` frames;
    ``reveal_prob``: the share of objects that show new parts during the clip, ``twin_prob``: the share
    with a look-alike twin (data.SceneConfig)."""
    from ..data import SceneConfig

    base = SceneConfig(size=size, frames=frames, photo_dirs=tuple(photo_dirs), reveal_prob=reveal_prob, twin_prob=twin_prob)
    return replace(base, tracking=True, max_translation=0.04, max_rotation=5.0, max_scale=0.05, camera_translation=0.02,
                   camera_rotation=1.0, camera_scale=0.02, max_layers=5)


class RolloutClips(Dataset):
    """Item i: generated clip (seed, i) -> frames (T, 3, H, W) in [0, 1], target (T, 1, H, W) one object's
    masks (an object present in frame 0), flow_init (T - 1, 2, H, W) the warm start frame t -> t - 1
    (``transform``; zeros for networks without one), has_init (bool)."""

    def __init__(self, cfg, *, length: int, seed: int = 0, transform: PairTransform = PairTransform()) -> None:
        self.cfg, self.length, self.seed, self.transform = cfg, int(length), int(seed), transform

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        from ..data import generate_scene

        index %= self.length
        s = generate_scene(self.cfg, self.seed, index=index)
        rng = np.random.default_rng((self.seed, index, 11))
        ids = [int(i) for i in np.unique(s.masks[0]) if i != 0]
        oid = ids[int(rng.integers(len(ids)))] if ids else 0
        frames = torch.from_numpy(s.frames).permute(0, 3, 1, 2).float().div_(255)
        target = torch.from_numpy((s.masks == oid).astype(np.float32))[:, None] if oid else torch.zeros(len(frames), 1,
                                                                                                           *frames.shape[-2:])
        inits = [self.transform.warm_start(s.frames[t], s.frames[t - 1]) for t in range(1, len(frames))]
        has_init = inits[0] is not None
        flow_init = torch.stack(inits) if has_init else torch.zeros(len(frames) - 1, 2, *frames.shape[-2:])
        return {"frames": frames, "target": target, "flow_init": flow_init, "has_init": torch.tensor(has_init)}


def _on_grid(p: torch.Tensor, grid) -> torch.Tensor:
    """(B, 1, H, W) object probability -> (B, 2, h, w) [background, object] on the key grid."""
    return F.adaptive_avg_pool2d(torch.cat([1 - p, p], 1).float(), grid)


NEW_PART_MARGIN = 3  # px: an object pixel is "new" when no earlier frame's mask came this close to it


def new_parts(seen: torch.Tensor, target: torch.Tensor, margin: int = NEW_PART_MARGIN) -> torch.Tensor:
    """seen (B, 1, H, W): the union of the object's earlier masks; target (B, 1, H, W) this frame's mask ->
    (B, 1, H, W) 1 where the object shows a part no earlier mask came within ``margin`` pixels of."""
    near = F.max_pool2d(seen, 2 * margin + 1, stride=1, padding=margin)
    return target * (1.0 - near)


def rollout_loss(model, batch: dict, *, memory_frames: int = 3, lose_rate: float = 0.2, seed: int = 0,
                 new_part_weight: float = 0.0, readout_error_weight: float = 0.0):
    """The mean segmentation loss over frames 1..T-1 of a rollout, and logs (iou of the last frame).

    ``new_part_weight`` > 0: each pixel's cross entropy is weighted 1 + new_part_weight on the object's
    new parts (``new_parts``: nothing in the memory shows them, so the decoder must find them from the
    frame itself; stops 33-34's rollouts learnt to delete them instead, benchmarks/RESULTS.md).
    ``readout_error_weight`` > 0: each pixel's cross entropy is (also) weighted 1 + readout_error_weight x
    |readout - target|, the memory readout's own error there (detached): the decoder's correction is
    trained where the readout is wrong, e.g. on parts whose look the memory never saw (``--reveal-prob``
    clips change an object's look, not its mask, so ``new_parts`` does not see them)."""
    net = getattr(model, "module", model)
    frames, target = batch["frames"], batch["target"]
    b, t = frames.shape[:2]
    init = batch["flow_init"] if bool(batch["has_init"].all()) else None
    with torch.no_grad():  # keys are inputs, as the prior is (a session computes them without gradient)
        keys = [net.embed(frames[:, i]).float() for i in range(t)]
    grid = keys[0].shape[-2:]
    pos = identity_positions(*grid, device=frames.device)
    long_v = _on_grid(target[:, 0], grid)
    recent: list[tuple[torch.Tensor, torch.Tensor]] = []
    rng = np.random.default_rng(seed)
    probs, total, last_iou = target[:, 0], frames.new_zeros(()), 0.0
    reference = (frames[:, 0], target[:, 0])
    seen, new_share, wrong_share = target[:, 0], 0.0, 0.0
    for i in range(1, t):
        prev = probs.clone()
        lost = torch.from_numpy(rng.random(b) < lose_rate).to(prev.device)
        prev[lost] = 0.0
        mems = []
        for j in range(b):
            if recent:
                rk = torch.stack([k[j] for k, _ in recent])
                rv = torch.stack([v[j] for _, v in recent])
            else:
                rk, rv = keys[0].new_zeros(0, keys[0].shape[1], 1, 1), keys[0].new_zeros(0, 2, 1, 1)
            mems.append(MemoryState(long_keys=keys[0][j].flatten(1), long_values=long_v[j].flatten(1), keys=rk, values=rv,
                                    positions=pos[None].expand(len(recent), -1, -1, -1) if recent else pos.new_zeros(0, 2, 1, 1)))
        out = model(frames[:, i], frames[:, i - 1], prev_probs=prev, reference=reference, memory=mems,
                    flow_init=None if init is None else init[:, i - 1])
        weight = None
        if new_part_weight > 0:
            new = new_parts(seen, target[:, i])
            weight, new_share = 1.0 + new_part_weight * new, new_share + float(new.mean()) / (t - 1)
            seen = torch.maximum(seen, target[:, i])
        if readout_error_weight > 0:
            if out.readout_full is None:  # the network has no gated readout: the weight would silently do nothing
                raise ValueError("readout_error_weight needs a network with the gated memory readout "
                                 "(LiteConfig.memory_gate); give 0 for other networks")
            wrong = (out.readout_full[:, 1:].detach().float() - target[:, i]).abs()
            weight = (1.0 if weight is None else weight) * (1.0 + readout_error_weight * wrong)
            wrong_share = wrong_share + float(wrong.mean()) / (t - 1)
        total = total + seg_loss(out.seg_logits, target[:, i], weight)
        probs = torch.sigmoid(out.seg_logits.detach().float())
        recent = (recent + [(keys[i], _on_grid(probs, grid))])[-memory_frames:]
        if i == t - 1:
            last_iou = float(iou(out.seg_logits.detach(), target[:, i]))
    logs = {"iou": last_iou, **({"new": new_share} if new_part_weight > 0 else {}),
            **({"readout_error": wrong_share} if readout_error_weight > 0 else {})}
    return total / (t - 1), logs


__all__ = ["NEW_PART_MARGIN", "RolloutClips", "new_parts", "rollout_loss", "rollout_scene_config"]
