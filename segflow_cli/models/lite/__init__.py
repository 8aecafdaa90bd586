"""segflow-lite, the network this project trains and ships (about 4.5 M parameters).

    config.py       LiteConfig (frozen; what a weights card stores)
    model.py        SegFlowLite: the composition of the parts below
    encoders.py     LiteTrunk (EfficientNet-Lite0, segmentation side), FlowPyramid (flow features)
    flow_branch.py  PyramidFlowDecoder (coarse-to-fine, local cost volume, DIS warm start)
    fusion.py       BidirectionalFusion (features cross between the branches at strides 8 and 16)
    seg_branch.py   SegDecoder (prior, matching scores and memory readout -> per-object logits)
    matching.py     first-frame matching (ReferenceMemory)
"""

from .config import LiteConfig
from .model import SegFlowLite

__all__ = ["LiteConfig", "SegFlowLite"]
