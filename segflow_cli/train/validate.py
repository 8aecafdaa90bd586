"""Validation on a fixed synthetic set: flow EPE (network and its DIS warm start) and mask IoU."""

from __future__ import annotations

import torch

from ..policy import autocast
from .losses import epe_map, iou


def forward_batch(model, batch: dict):
    """The network on a training batch; the reference frame goes in where the variant reads one, and,
    for variants with a space-time memory, a two-frame memory per sample: the reference frame with
    its exact mask (long-term) and the previous frame with the perturbed prior as its labels (recent,
    as a session's own imperfect predictions), so the decoder learns to refine memory readouts."""
    net = getattr(model, "module", model)  # DDP-wrapped or not
    kw = {"reference": (batch["ref_image"], batch["ref_mask"])} if "ref_image" in batch and net.supports_reference else {}
    cfg = net.config
    if kw and net.supports_memory and cfg.memory_decoder and cfg.memory_prior != "warp":
        kw["memory"] = training_memories(net, batch)
    return model(batch["image1"], batch["image2"], prev_probs=batch["prev"], flow_init=batch.get("flow_init"), **kw)


@torch.no_grad()
def training_memories(net, batch: dict) -> list:
    """One MemoryState per sample (keys without gradient: the readout is an input, like the prior)."""
    import torch.nn.functional as F

    from ..models.memory import MemoryState, identity_positions

    ref_k, prev_k = net.embed(batch["ref_image"]).float(), net.embed(batch["image2"]).float()
    h, w = ref_k.shape[-2:]
    pool = lambda m: F.adaptive_avg_pool2d(torch.cat([1 - m, m], 1).float(), (h, w))  # noqa: E731
    ref_v, prev_v = pool(batch["ref_mask"]), pool(batch["prev"])
    pos = identity_positions(h, w, device=ref_k.device)[None]
    return [MemoryState(long_keys=ref_k[i].flatten(1), long_values=ref_v[i].flatten(1), keys=prev_k[i:i + 1],
                        values=prev_v[i:i + 1], positions=pos) for i in range(ref_k.shape[0])]


@torch.no_grad()
def validate(model, dataset, *, device, precision: str = "fp32", batch_size: int = 4) -> dict:
    """Means over the set: epe (network flow), init_epe (flow_init alone, when used), iou (network
    masks), prior_iou (the perturbed prior itself, unwarped: what the network starts from)."""
    model.eval()
    sums = {"epe": 0.0, "init_epe": 0.0, "iou": 0.0, "prior_iou": 0.0}
    n_flow = n_seg = 0
    items = [dataset[i] for i in range(len(dataset))]
    for i in range(0, len(items), batch_size):
        chunk = items[i : i + batch_size]
        batch = {k: torch.stack([c[k] for c in chunk]).to(device) for k in chunk[0]}
        with autocast(device, precision):
            out = forward_batch(model, batch)
        v = (batch["flow_valid"] & batch["has_flow"][:, None, None]).float()
        nv = v.sum().clamp_min(1)
        if v.sum() > 0:
            sums["epe"] += float((epe_map(out.flow.float(), batch["flow"]) * v).sum() / nv) * len(chunk)
            if "flow_init" in batch:
                sums["init_epe"] += float((epe_map(batch["flow_init"], batch["flow"]) * v).sum() / nv) * len(chunk)
            n_flow += len(chunk)
        sel = batch["has_seg"]
        if sel.any():
            k = int(sel.sum())
            sums["iou"] += float(iou(out.seg_logits[sel].float(), batch["target"][sel])) * k
            sums["prior_iou"] += float(iou(batch["prev"][sel] * 2 - 1, batch["target"][sel])) * k
            n_seg += k
    res = {k: sums[k] / max(n_flow, 1) for k in ("epe", "init_epe")}
    res.update({k: sums[k] / max(n_seg, 1) for k in ("iou", "prior_iou")})
    return {k: round(v, 4) for k, v in res.items()}
