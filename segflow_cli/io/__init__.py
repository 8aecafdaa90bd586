"""Every file format segflow reads or writes, in one place.

Conventions: images/frames are (H, W, 3) uint8 RGB; masks are (H, W) uint8 object ids (0 =
background); flow is (H, W, 2) float32 in pixels (u right, v down). Writers are atomic (temporary
file + rename); user-caused problems raise ``segflow_cli.errors.SegflowError`` / ``FormatError``.
"""

from .alpha_video import AlphaVideoWriter, alpha_codec, alpha_video_suffix, read_alpha_video
from .coco import CocoWriter, decode_rle, encode_rle, read_coco_masks
from .flo import read_flo, write_flo
from .flowviz import flow_to_color
from .images import read_alpha, read_image, write_image
from .kitti import read_kitti_flow, write_kitti_flow
from .masks import (DAVIS_PALETTE, AntiAliasedMaskWarning, ids_present, mask_to_onehot, onehot_to_mask,
                    read_mask, write_mask)
from .video import FrameSource, natural_key, open_frames
from .video_writer import VideoWriter

__all__ = [
    "AlphaVideoWriter", "CocoWriter", "alpha_codec", "alpha_video_suffix", "decode_rle", "encode_rle",
    "read_alpha_video", "read_coco_masks",
    "DAVIS_PALETTE", "AntiAliasedMaskWarning", "FrameSource", "VideoWriter", "flow_to_color", "ids_present",
    "mask_to_onehot", "natural_key", "onehot_to_mask", "open_frames", "read_alpha", "read_flo", "read_image",
    "read_kitti_flow", "read_mask", "write_flo", "write_image", "write_kitti_flow", "write_mask",
]
