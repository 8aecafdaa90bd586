"""Online fine-tuning on the annotated first frame (SegFlow's online stage, as in OSVOS).

The segmentation side is trained for a few steps on randomly augmented copies of the first frame:
a random affine, flip and colour jitter give image1 and its target mask, and a perturbed copy of
that mask (the training loop's perturbation) is the prior, so the network learns this object's
appearance and how to correct a drifting prior. The flow side stays frozen.

With a ``memory`` (the session's annotated frame, as its space-time memory holds it), each augmented
copy also reads that memory, all objects together, as every frame of the video will: the decoder of a
memory network (the gated readout of the shipped card) is then trained on the inputs it meets at
inference, the readout and its gate included, instead of on a prior alone.
"""

from __future__ import annotations

import dataclasses
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..models.lite.matching import ReferenceMemory
from ..models.memory import MemoryState
from ..data.priors import perturb_mask
from .aggregate import ids_to_onehot


def _augment(frame: np.ndarray, onehot: np.ndarray, rng: np.random.Generator):
    """frame (h, w, 3) uint8, onehot (K, h, w) float -> augmented copies with one random affine."""
    h, w = frame.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-10, 10), rng.uniform(0.9, 1.1))
    m[:, 2] += rng.uniform(-0.05, 0.05, size=2) * (w, h)
    img = cv2.warpAffine(frame, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    masks = np.stack([cv2.warpAffine(o, m, (w, h), flags=cv2.INTER_NEAREST) for o in onehot])
    if rng.random() < 0.5:
        img, masks = img[:, ::-1], masks[:, :, ::-1]
    img = np.clip(img.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20), 0, 255)
    return np.ascontiguousarray(img), np.ascontiguousarray(masks)


def finetune_on_first_frame(runner, frame: np.ndarray, mask: np.ndarray, object_ids: list[int], size: tuple[int, int],
                            *, steps: int, lr: float = 1e-4, batch: int = 2, seed: int = 0,
                            memory: MemoryState | None = None) -> float:
    """Fine-tune ``runner.model``'s segmentation side in place; returns the seconds it took. ``memory``: the
    annotated frame's long-term MemoryState (no recent frames), read by every augmented copy."""
    if memory is not None and memory.recent:
        raise ValueError("fine-tuning reads the annotated frame only; give a memory without recent frames")
    t0, model, dev = time.perf_counter(), runner.model, runner.device
    rng = np.random.default_rng(seed)
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    onehot = ids_to_onehot(mask, object_ids, size).numpy()
    params = [p for m in model.seg_modules() for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    model.eval()  # BatchNorm statistics stay fixed: one frame is no batch
    draw = (_single_objects(runner, small, onehot, size, rng, batch) if memory is None
            else _all_objects_reading(memory, runner, small, onehot, size, rng, batch))
    with torch.enable_grad():
        for _ in range(steps):
            x, prior, target, kw = draw()
            x = x.to(dev)
            out = model(x, x, prior=prior.to(dev), **kw)
            loss = F.binary_cross_entropy_with_logits(out.seg_logits, target.to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    for p in model.parameters():
        p.grad = None
    return time.perf_counter() - t0


def _copy(small, onehot, rng, *, only: int | None = None):
    """One augmented copy: image (3, h, w) in [0, 1], its masks (K, h, w) {0, 1} and perturbed priors (K, h, w);
    ``only`` k: object k's mask and prior alone, (1, h, w) each (the others are not perturbed for nothing)."""
    img, masks = _augment(small, onehot if only is None else onehot[only : only + 1], rng)
    masks = masks > 0.5
    prior = np.stack([perturb_mask(m.astype(np.uint8), rng, strength=0.3) for m in masks])
    return torch.from_numpy(img).permute(2, 0, 1) / 255.0, torch.from_numpy(masks).float(), torch.from_numpy(prior)


def _single_objects(runner, small, onehot, size, rng, batch):
    """Networks without a memory: each sample trains one random object against a reference of that object
    alone (clones: the reference comes from inference mode, whose tensors autograd refuses to save)."""
    prepared = runner.prepare(small, size)
    refs = [runner.encode_reference(prepared, torch.from_numpy(onehot[k : k + 1])[None]) for k in range(len(onehot))]
    if refs[0] is not None:
        refs = [ReferenceMemory(emb=m.emb.clone(), bounds=m.bounds.clone()) for m in refs]

    def draw():
        imgs, priors, targets, picked = [], [], [], []
        for _ in range(batch):
            k = int(rng.integers(len(onehot)))
            img, mask, prior = _copy(small, onehot, rng, only=k)
            imgs.append(img), targets.append(mask), priors.append(prior), picked.append(k)
        kw = {} if refs[0] is None else {"reference": ReferenceMemory(
            emb=torch.cat([refs[k].emb for k in picked]), bounds=torch.cat([refs[k].bounds for k in picked]))}
        return torch.stack(imgs), torch.stack(priors), torch.stack(targets), kw

    return draw


def _all_objects_reading(memory: MemoryState, runner, small, onehot, size, rng, batch):
    """Memory networks: each sample holds all K objects, as a video's frames do, and reads ``memory`` (the
    annotated frame) beside its perturbed priors and the K-object reference."""
    # A copy of every tensor field, whatever fields the state grows (each new one had to be added here by
    # hand); the session's read caches and row table stay behind, as before (the readout does without them).
    fields = {f.name: getattr(memory, f.name) for f in dataclasses.fields(memory)}
    mem = dataclasses.replace(memory, caches=None, table=None, slots=None,
                              **{k: v.clone() for k, v in fields.items() if isinstance(v, torch.Tensor) and k != "table"})
    ref = runner.encode_reference(runner.prepare(small, size), torch.from_numpy(onehot)[None])
    kw = {"memory": [mem] * batch}
    if ref is not None:
        kw["reference"] = ReferenceMemory(emb=ref.emb.clone().expand(batch, *ref.emb.shape[1:]).contiguous(),
                                          bounds=ref.bounds.clone().expand(batch, *ref.bounds.shape[1:]).contiguous())

    def draw():
        imgs, targets, priors = zip(*(_copy(small, onehot, rng) for _ in range(batch)))
        return torch.stack(imgs), torch.stack(priors), torch.stack(targets), kw

    return draw
