"""Online fine-tuning on the annotated first frame (SegFlow's online stage, as in OSVOS).

The segmentation side is trained for a few steps on randomly augmented copies of the first frame:
a random affine, flip and colour jitter give image1 and its target mask, and a perturbed copy of
that mask (the training loop's perturbation) is the prior, so the network learns this object's
appearance and how to correct a drifting prior. The flow side stays frozen.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..models.lite.matching import ReferenceMemory
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
                            *, steps: int, lr: float = 1e-4, batch: int = 2, seed: int = 0) -> float:
    """Fine-tune ``runner.model``'s segmentation side in place; returns the seconds it took."""
    t0, model, dev = time.perf_counter(), runner.model, runner.device
    rng = np.random.default_rng(seed)
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    onehot = ids_to_onehot(mask, object_ids, size).numpy()
    params = [p for m in model.seg_modules() for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    model.eval()  # BatchNorm statistics stay fixed: one frame is no batch
    # The unaugmented frame is the reference each augmented copy is matched against, one memory per
    # object as each sample trains one object (clone: inference-mode tensors refuse autograd).
    prepared = runner.prepare(small, size)
    memories = [runner.encode_reference(prepared, torch.from_numpy(onehot[k : k + 1])[None]) for k in range(len(object_ids))]
    if memories[0] is not None:
        memories = [ReferenceMemory(emb=m.emb.clone(), bounds=m.bounds.clone()) for m in memories]
    with torch.enable_grad():
        for _ in range(steps):
            imgs, priors, targets, picked = [], [], [], []
            for _ in range(batch):
                img, masks = _augment(small, onehot, rng)
                k = int(rng.integers(len(object_ids)))
                picked.append(k)
                imgs.append(torch.from_numpy(img).permute(2, 0, 1) / 255.0)
                targets.append(torch.from_numpy(masks[k] > 0.5).float()[None])
                priors.append(torch.from_numpy(perturb_mask((masks[k] > 0.5).astype(np.uint8), rng, strength=0.3))[None])
            x = torch.stack(imgs).to(dev)
            kw = {} if memories[0] is None else {"reference": ReferenceMemory(
                emb=torch.cat([memories[k].emb for k in picked]), bounds=torch.cat([memories[k].bounds for k in picked]))}
            out = model(x, x, prior=torch.stack(priors).to(dev), **kw)
            loss = F.binary_cross_entropy_with_logits(out.seg_logits, torch.stack(targets).to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    for p in model.parameters():
        p.grad = None
    return time.perf_counter() - t0
