"""Classical optical flow (OpenCV DIS, Farneback, TV-L1): a bottom layer, no torch.

The DIS warm start of segflow-lite's ``flow_init="dis"`` / ``"dis-fine"`` weights and the baselines of ``flow``,
``segment --method dis-warp`` and ``benchmark flow``. Every function takes (H, W, 3) uint8 RGB
(or (H, W) grey) frames and returns (H, W, 2) float32 flow image1 -> image2.
"""

from .opencv import DIS_METHOD_PRESETS, DIS_PRESETS, dis_flow, farneback_flow, has_tvl1, require_tvl1, tvl1_flow

__all__ = ["DIS_METHOD_PRESETS", "DIS_PRESETS", "dis_flow", "farneback_flow", "has_tvl1", "require_tvl1", "tvl1_flow"]
