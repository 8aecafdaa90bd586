"""Training: `train(TrainConfig(...))` runs the alternating SegFlow schedule (see loop.py)."""

from .config import TrainConfig
from .loop import train

__all__ = ["TrainConfig", "train"]
