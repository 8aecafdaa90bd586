"""segflow-paper, the published architecture (ResNet-101 FCN-8s + FlowNetS, about 81 M parameters).

    config.py      PaperConfig (frozen; defaults follow the official prototxt)
    model.py       SegFlowPaper: the composition
    resnet_fcn.py  ResNetTrunk and the FCN-8s head (segmentation branch)
    flownets.py    FlowNetS (flow branch)
    fusion.py      the paper's bidirectional fusion (flow decoder maps into res3/res4/res5)
"""

from .config import PaperConfig
from .model import SegFlowPaper

__all__ = ["PaperConfig", "SegFlowPaper"]
