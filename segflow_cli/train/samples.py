"""Turn clip samples (from the data engine or a real dataset) into training pairs for the network.

Time runs backwards in a pair, exactly as in a video session: image1 = frame 0 is the "current"
frame, image2 = frame 1 the "previous" one, the flow target is frame 0 -> frame 1, and the prior
is one object's mask in frame 1, perturbed so the network learns to correct a drifting prior
(which the network itself warps onto frame 0 with its own flow). The last frame of a clip of three
or more is the reference ("annotated") frame with that object's exact mask, the input of first-frame
matching; two-frame clips use frame 1 and its exact mask. The perturbations live in data.priors,
shared with online fine-tuning (inference.finetune).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.priors import lose_mask, perturb_mask
from ..models.transforms import PairTransform


class TrainPairs(Dataset):
    """Wraps a clip dataset whose items hold 'frames' (T, 3, H, W) in [0, 1] and optionally 'flows'
    (T-1, 2, H, W), 'valid' (T-1, H, W), 'masks' (T, H, W). Items become:
    image1, image2 (3, H, W); flow (2, H, W) and flow_valid (H, W) (zeros / False without labels);
    flow_init (2, H, W) the warm start of ``transform`` (the network's input transform, e.g. DIS flow
    for flow_init="dis" networks; absent when it has none); prev (1, H, W) perturbed prior in frame 1;
    target (1, H, W) the same object in frame 0; ref_image (3, H, W) and ref_mask (1, H, W) the
    reference frame and the object's mask in it; has_flow, has_seg (bool tensors).
    A fraction ``hard_prior_rate`` of priors is lost (``lose_mask``: empty, far off or a fragment),
    which only the reference can correct."""

    def __init__(self, clips: Dataset, *, transform: PairTransform = PairTransform(), seed: int = 0,
                 prior_strength: float = 1.0, hard_prior_rate: float = 0.0) -> None:
        self.clips, self.transform, self.seed, self.strength = clips, transform, seed, prior_strength
        self.hard_prior_rate = hard_prior_rate

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        index %= len(self.clips)  # the step sampler's stream wraps around finite sets
        item = self.clips[index]
        rng = np.random.default_rng((self.seed, index, 7))
        f = item["frames"]
        out = {"image1": f[0], "image2": f[1]}
        h, w = f.shape[-2:]
        has_flow = "flows" in item
        out["flow"] = item["flows"][0] if has_flow else torch.zeros(2, h, w)
        out["flow_valid"] = item["valid"][0].bool() if has_flow else torch.zeros(h, w, dtype=torch.bool)
        out["has_flow"] = torch.tensor(has_flow)
        init = self.transform.warm_start_of(f[0], f[1])
        if init is not None:
            out["flow_init"] = init
        prev, target, has_seg = torch.full((1, h, w), 0.5), torch.zeros(1, h, w), False
        r = len(f) - 1 if len(f) >= 3 else 1
        ref_mask = torch.zeros(1, h, w)
        if "masks" in item:
            m0, m1 = item["masks"][0].numpy(), item["masks"][1].numpy()
            ids = [i for i in np.unique(m0) if i != 0 and (m1 == i).any()]
            if ids:
                oid = ids[int(rng.integers(len(ids)))]
                m = (m1 == oid).astype(np.uint8)
                lost = rng.random() < self.hard_prior_rate
                prev = torch.from_numpy(lose_mask(m, rng) if lost else perturb_mask(m, rng, strength=self.strength))[None]
                target, has_seg = torch.from_numpy((m0 == oid).astype(np.float32))[None], True
                ref_mask = (item["masks"][r] == oid).float()[None]
        out.update(prev=prev, target=target, has_seg=torch.tensor(has_seg), ref_image=f[r], ref_mask=ref_mask)
        return out
