"""Frame-pair inference shared by the video session and the `flow` command.

The runner owns the network, the device/precision policy and the internal resolution: frames
(H, W, 3) uint8 are resized so the longer side is at most ``max_size`` (rounded to the network
stride), and every output is resized back to the input size (flow vectors rescaled).
"""

from __future__ import annotations

import contextlib

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..models.transforms import PairTransform, transform_for
from ..policy import autocast, check_precision, cpu_native_bf16, resolve_device


def internal_size(width: int, height: int, max_size: int, stride: int = 32) -> tuple[int, int]:
    """(w, h) at most ``max_size`` on the longer side, each a multiple of ``stride`` (at least one stride)."""
    scale = min(1.0, max_size / max(width, height))
    snap = lambda v: max(stride, int(round(v * scale / stride)) * stride)  # noqa: E731
    return snap(width), snap(height)


@dataclass
class PairResult:
    """seg_logits (1, K, h, w) and flow (1, 2, h, w) image1 -> image2, both at internal size (w, h);
    embedding (1, C, h/8, w/8) image1's memory key and positions (1, T, 2, h/8, w/8) the memory windows'
    centres, readout (1, K + 1, h/8, w/8) and readout_full, when the network computed them."""

    seg_logits: torch.Tensor
    flow: torch.Tensor
    embedding: torch.Tensor | None = None
    positions: torch.Tensor | None = None
    readout: torch.Tensor | None = None
    readout_full: torch.Tensor | None = None  # (1, K + 1, h, w) see SegFlowOutput.readout_full


class PairRunner:
    """A network (models.types.SegFlowNet) with its input transform (default: ``transform_for(model)``,
    the same as its weights entry's ``transforms()``), on a device at a precision. ``fold``: replace the
    frozen key encoder by its batch-norm-folded copy (KeyEncoder.folded), for networks the caller does
    not keep (loaded from weights for inference), and its trained trunk by its folded fp32 copy
    (LiteTrunk.folded) unless ``trainable``: the caller trains the segmentation side, trunk included
    (online fine-tuning), and a folded, fused copy has no batch norm to keep fixed and no gradients.
    On CPUs that multiply bf16 natively (policy.cpu_native_bf16) the folded copies and the flow branch's
    convolutions run in bf16 with fp32 features and flows between them (stop 31)."""

    def __init__(self, model, *, device: str = "auto", precision: str = "fp32", max_size: int = 512,
                 transform: PairTransform | None = None, fold: bool = False, trainable: bool = False) -> None:
        self.device = resolve_device(device)
        self.precision = check_precision(precision, self.device)
        self.model = model.to(self.device).eval()
        # On CPUs with native bf16 (AMX tiles, AVX512-BF16) the copies below run their convolutions in
        # bf16: a third to half of a key's time, a third of the flow's (stop 31).
        bf16 = self.device.type == "cpu" and self.precision == "fp32" and cpu_native_bf16()
        if fold and getattr(self.model, "key_encoder", None) is not None:
            # Only for a network the runner loaded itself: the folded key encoder's tensors are not the
            # weights file's, so a caller's model (a training run's, a test's) is never changed.
            self.model.key_encoder = self.model.key_encoder.folded(bf16_cpu=bf16)
        if fold and not trainable and hasattr(getattr(self.model, "trunk", None), "folded"):
            # The trained trunk too (flow, decoder); its features return in fp32.
            self.model.trunk = self.model.trunk.folded(bf16_cpu=bf16)
            for part in ("flow_pyramid", "flow_decoder"):  # the flow branch's convolutions likewise (flows stay fp32)
                module = getattr(self.model, part, None)
                if bf16 and hasattr(module, "bf16_copy"):
                    setattr(self.model, part, module.bf16_copy())
        # Channels-last convolutions are faster on CUDA and on x86 CPUs (oneDNN) alike.
        self.model = self.model.to(memory_format=torch.channels_last)
        self.max_size = int(max_size)
        self.transform = transform or transform_for(model)
        self.supports_memory = model.supports_memory

    def prepare(self, frame: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, torch.Tensor]:
        """Resize an (H, W, 3) uint8 frame to ``size`` (w, h); returns it and its (1, 3, h, w) [0, 1] tensor."""
        import cv2

        small = frame if frame.shape[1::-1] == size else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        return small, self.transform.image(small, self.device)[None]

    def warm_start(self, a: tuple[np.ndarray, torch.Tensor], b: tuple[np.ndarray, torch.Tensor]) -> torch.Tensor | None:
        """The transform's flow_init (1, 2, h, w) for prepared frames a -> b on the device, or None."""
        init = self.transform.warm_start(a[0], b[0])
        return None if init is None else init[None].to(self.device)

    @contextlib.contextmanager
    def _on_pair(self, a, b):
        """The warm start a -> b (or None), made first (classical, outside autocast), then the autocast
        block the network runs in: one place for the order every pair method needs."""
        init = self.warm_start(a, b)
        with autocast(self.device, self.precision):
            yield init

    @torch.inference_mode()
    def run(self, a: tuple[np.ndarray, torch.Tensor], b: tuple[np.ndarray, torch.Tensor], *,
            prior: torch.Tensor | None = None, prev_probs: torch.Tensor | None = None, reference=None,
            memory=None) -> PairResult:
        """Network on prepared frames a (image1) and b (image2), with an optional prior / prev_probs (1, K, h, w),
        reference memory (from ``encode_reference``) and space-time memory (a models.memory.MemoryState)."""
        with self._on_pair(a, b) as init:
            if prev_probs is not None and not self.model.supports_prev_probs:
                # Variants without a built-in warp: estimate flow first, warp here, then segment.
                from ..ops import backward_warp

                flow = self.model(a[1], b[1], flow_init=init).flow.float()
                prior, prev_probs = backward_warp(prev_probs, flow), None
            kw = {"prev_probs": prev_probs} if prev_probs is not None else {}
            if reference is not None:
                kw["reference"] = reference
            if memory is not None:
                kw["memory"] = memory
            out = self.model(a[1], b[1], prior=prior, flow_init=init, **kw)
        opt = lambda x: None if x is None else x.float()  # noqa: E731
        return PairResult(seg_logits=out.seg_logits.float(), flow=out.flow.float(), embedding=opt(out.embedding),
                          positions=opt(out.positions), readout=opt(out.readout),
                          readout_full=opt(out.readout_full))

    @torch.inference_mode()
    def flow(self, a, b) -> torch.Tensor:
        """Prepared frames a, b -> the network's flow a -> b (1, 2, h, w) alone (no segmentation decoder)."""
        with self._on_pair(a, b) as init:
            return self.model.flow(a[1], b[1], flow_init=init).float()

    @torch.inference_mode()
    def flow_and_embedding(self, a, b) -> tuple[torch.Tensor, torch.Tensor]:
        """Prepared frames a, b -> the network's flow a -> b (1, 2, h, w) and a's memory key (1, C, h/8, w/8),
        one trunk pass and no segmentation decoder."""
        with self._on_pair(a, b) as init:
            flow, emb = self.model.flow_and_embedding(a[1], b[1], flow_init=init)
        return flow.float(), emb.float()

    @torch.inference_mode()
    def embed(self, a: tuple[np.ndarray, torch.Tensor]) -> torch.Tensor:
        """A prepared frame -> its (1, C, h/8, w/8) memory key."""
        with autocast(self.device, self.precision):
            return self.model.embed(a[1]).float()

    def embedder(self, max_size: int):
        """A callable frame (H, W, 3) uint8 -> its (C, h, w) memory key at the internal size for
        ``max_size`` (what point prompts read)."""

        def embed(img: np.ndarray) -> torch.Tensor:
            h, w = img.shape[:2]
            return self.embed(self.prepare(img, internal_size(w, h, max_size)))[0]

        return embed

    @torch.inference_mode()
    def read_memory(self, key: torch.Tensor, memory) -> torch.Tensor:
        """Readout (V, h8, w8) of a key (C, h8, w8) from a MemoryState with the model's readout settings."""
        from ..models.memory import ReadoutConfig, readout

        cfg = getattr(getattr(self.model, "config", None), "readout", ReadoutConfig())
        return readout(key, memory, config=cfg)

    @torch.inference_mode()
    def encode_reference(self, a: tuple[np.ndarray, torch.Tensor], masks: torch.Tensor):
        """The annotated frame (prepared) and its (1, K, h, w) masks -> the model's reference memory,
        or None for variants without first-frame matching."""
        if not self.model.supports_reference or not self.model.config.reference_matching:
            return None
        with autocast(self.device, self.precision):
            return self.model.encode_reference(a[1], masks.to(self.device))


def resize_flow(flow: torch.Tensor, width: int, height: int) -> np.ndarray:
    """(1, 2, h, w) flow at internal size -> (H, W, 2) float32 numpy at (width, height), vectors rescaled."""
    h, w = flow.shape[-2:]
    if (w, h) != (width, height):
        flow = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)
        flow = flow * torch.tensor([width / w, height / h], device=flow.device).view(1, 2, 1, 1)
    return flow[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
