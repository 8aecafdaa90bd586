"""Tensor operations shared by the networks, inference and training (a bottom layer: torch only).

backward_warp (flow warping), local_cost_volume (correlation over a window), InputPadder (pad to
the network stride and crop back, as RAFT's padder), guided_filter (edge-aware refinement of a map by
an image, He et al.), fuse_conv_clamp / ConvClamp (convolution + ReLU6 as one oneDNN call, for
inference copies).
"""

from .correlation import local_cost_volume
from .fused import ConvClamp, fuse_conv_clamp
from .guided import box_mean, box_mean_nchw, guided_filter
from .padding import InputPadder
from .warp import backward_warp

__all__ = ["ConvClamp", "InputPadder", "backward_warp", "box_mean", "box_mean_nchw", "fuse_conv_clamp", "guided_filter", "local_cost_volume"]
