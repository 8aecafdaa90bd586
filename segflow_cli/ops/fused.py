"""Convolution and clamp activation (ReLU6) as one oneDNN call on the CPU, for inference copies.

Why: on the CPU an EfficientNet's ReLU6 is a separate pass over every expanded activation, and at
864x480 those passes cost about as much as the convolutions before them (the memory key: 22 clamps,
12 ms of a 35 ms key on 2 cores). oneDNN applies the clamp while it writes the convolution's output
(a post-op; torch exposes it as ``torch.ops.mkldnn._convolution_pointwise``, the op torch.compile's
CPU backend fuses into), so the pass disappears: the key 35 -> 23 ms, bit-identical (benchmarks/RESULTS.md,
stop 27). Anywhere else (CUDA, a torch without oneDNN) the module runs the convolution and the clamp
as before.

``fuse_conv_clamp(module)`` rewrites, in place, every convolution followed by a ReLU6 (timm's folded
blocks: ``conv`` then ``Sequential(Identity, ReLU6)``) into a ``ConvClamp`` and the activation into an
identity; ``to_bf16`` also keeps the weights in bf16 (the input is cast at the first convolution), so
no per-call weight cast is paid as under autocast. Inference only: no gradient flows through the
fused op. Shapes: (B, C, H, W) in, (B, C', H', W') out, channels-last kept.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _fused_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


def same_pads(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
              dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """TensorFlow's "same" padding (left, right, top, bottom) of an (h, w) input, as timm's pad_same (its
    get_same_padding's sizes; written here because ops imports torch only; the test checks it against
    timm's)."""
    pads = []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return (*pads[1], *pads[0])


def pad_zeros(x: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
    """F.pad(x, pads) with zeros, written as one copy plus the border strips (F.pad fills the whole
    new tensor first: a second pass over a large activation); keeps x's memory format."""
    left, right, top, bottom = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous() else (
        torch.contiguous_format)
    out = torch.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype, device=x.device, memory_format=fmt)
    out[:, :, top:top + h, left:left + w] = x
    out[:, :, :top].zero_()
    out[:, :, top + h:].zero_()
    out[:, :, top:top + h, :left].zero_()
    out[:, :, top:top + h, left + w:].zero_()
    return out


class ConvClamp(nn.Module):
    """conv (an nn.Conv2d, or timm's Conv2dSame: TF "same" padding) followed by clamp(lo, hi), one call on
    the CPU. The input is cast to the weights' dtype (bf16 weights take fp32 input at a network's first
    convolution)."""

    def __init__(self, conv: nn.Conv2d, lo: float, hi: float) -> None:
        super().__init__()
        self.conv, self.lo, self.hi = conv, float(lo), float(hi)
        self.same = type(conv).__name__ == "Conv2dSame"  # timm's TF-ported convolutions pad at run time
        self.fused = _fused_available()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        x = x.to(c.weight.dtype)
        if self.same:
            x = pad_zeros(x, same_pads(tuple(x.shape[-2:]), c.kernel_size, c.stride, c.dilation))
            padding = [0, 0]
        else:
            padding = list(c.padding)
        if self.fused and x.device.type == "cpu" and isinstance(c.padding, tuple):
            return torch.ops.mkldnn._convolution_pointwise(
                x, c.weight, c.bias, padding, list(c.stride), list(c.dilation), c.groups, "hardtanh", [self.lo, self.hi], "")
        return F.conv2d(x, c.weight, c.bias, c.stride, padding, c.dilation, c.groups).clamp_(self.lo, self.hi)


@torch.no_grad()
def fuse_conv_clamp(module: nn.Module, *, to_bf16: bool = False) -> int:
    """In place: every convolution registered right before a ReLU6 (alone or as the last module of a
    Sequential of identities, as batch-norm folding leaves timm's BatchNormAct2d) becomes a ConvClamp,
    the ReLU6 an identity; the other activations run in place. ``to_bf16``: every convolution's weight
    and bias become bf16. Returns the number fused."""
    fused = 0
    for parent in list(module.modules()):
        names = list(parent._modules)
        for prev, name in zip(names, names[1:]):
            conv, act = parent._modules[prev], parent._modules[name]
            tail = act[-1] if isinstance(act, nn.Sequential) and len(act) else act
            rest_identity = not isinstance(act, nn.Sequential) or all(isinstance(m, nn.Identity) for m in act[:-1])
            if isinstance(conv, nn.Conv2d) and isinstance(tail, nn.ReLU6) and rest_identity:
                parent._modules[prev] = ConvClamp(conv, 0.0, 6.0)
                parent._modules[name] = nn.Identity()
                fused += 1
    for m in module.modules():
        if hasattr(m, "inplace") and isinstance(m.inplace, bool):
            m.inplace = True
        if to_bf16 and isinstance(m, nn.Conv2d):
            m.to(torch.bfloat16)
    return fused
