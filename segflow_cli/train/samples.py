"""Turn clip samples (from the data engine or a real dataset) into training pairs for the network.

Time runs backwards in a pair, exactly as in a video session: image1 = frame 0 is the "current"
frame, image2 = frame 1 the "previous" one, the flow target is frame 0 -> frame 1, and the prior
is one object's mask in frame 1, perturbed so the network learns to correct a drifting prior
(which the network itself warps onto frame 0 with its own flow). The last frame of a clip of three
or more is the reference ("annotated") frame with that object's exact mask, the input of first-frame
matching; two-frame clips use frame 1 and its exact mask.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..inference.classical import dis_flow


def perturb_mask(mask: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0) -> np.ndarray:
    """(H, W) {0,1} uint8 -> a plausible imperfect prior in [0, 1] float32 (shift, dilate/erode, holes,
    false blobs, blur); about one in ten is returned unchanged."""
    h, w = mask.shape
    m = mask.astype(np.uint8)
    if rng.random() < 0.1:
        return m.astype(np.float32)
    s = strength * rng.uniform(0, 0.04)
    dx, dy = rng.normal(0, s * w), rng.normal(0, s * h)
    m = cv2.warpAffine(m, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), flags=cv2.INTER_NEAREST)
    k = int(rng.integers(1, max(2, int(strength * 0.03 * max(h, w)))))
    if rng.random() < 0.7:
        kern = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        m = cv2.dilate(m, kern) if rng.random() < 0.5 else cv2.erode(m, kern)
    for value in (0, 1):  # a hole in the object, a false blob outside it
        if rng.random() < 0.3 * strength:
            c = (int(rng.integers(w)), int(rng.integers(h)))
            axes = (int(rng.integers(2, w // 8 + 3)), int(rng.integers(2, h // 8 + 3)))
            cv2.ellipse(m, c, axes, float(rng.uniform(0, 180)), 0, 360, value, -1)
    p = m.astype(np.float32)
    if rng.random() < 0.5:
        p = cv2.GaussianBlur(p, (0, 0), rng.uniform(0.5, 3.0))
    return p


def lose_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W) {0,1} uint8 -> the prior of a tracker that has lost the object: empty, moved far away,
    or cut to a fragment (float32). Only matching against the reference frame can recover from it."""
    h, w = mask.shape
    mode = rng.integers(3)
    if mode == 0:
        return np.zeros((h, w), np.float32)
    if mode == 1:
        ang, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.5)
        t = np.float32([[1, 0, np.cos(ang) * dist * w], [0, 1, np.sin(ang) * dist * h]])
        return cv2.warpAffine(mask.astype(np.uint8), t, (w, h), flags=cv2.INTER_NEAREST).astype(np.float32)
    ys, xs = np.mgrid[0:h, 0:w]
    ang = rng.uniform(0, 2 * np.pi)
    proj = np.cos(ang) * xs + np.sin(ang) * ys
    inside = proj[mask > 0]
    cut = np.quantile(inside, rng.uniform(0.6, 0.9)) if inside.size else 0.0
    return ((mask > 0) & (proj > cut)).astype(np.float32)


class TrainPairs(Dataset):
    """Wraps a clip dataset whose items hold 'frames' (T, 3, H, W) in [0, 1] and optionally 'flows'
    (T-1, 2, H, W), 'valid' (T-1, H, W), 'masks' (T, H, W). Items become:
    image1, image2 (3, H, W); flow (2, H, W) and flow_valid (H, W) (zeros / False without labels);
    flow_init (2, H, W) DIS flow when ``dis_init``; prev (1, H, W) perturbed prior in frame 1;
    target (1, H, W) the same object in frame 0; ref_image (3, H, W) and ref_mask (1, H, W) the
    reference frame and the object's mask in it; has_flow, has_seg (bool tensors).
    A fraction ``hard_prior_rate`` of priors is lost (``lose_mask``: empty, far off or a fragment),
    which only the reference can correct."""

    def __init__(self, clips: Dataset, *, dis_init: bool, seed: int = 0, prior_strength: float = 1.0,
                 hard_prior_rate: float = 0.0) -> None:
        self.clips, self.dis_init, self.seed, self.strength = clips, dis_init, seed, prior_strength
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
        if self.dis_init:
            u8 = [(x.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8) for x in (f[0], f[1])]
            out["flow_init"] = torch.from_numpy(dis_flow(u8[0], u8[1])).permute(2, 0, 1)
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
