"""Training data: the procedural layered-scene engine and loaders for real datasets.

``generate_scene(SceneConfig(...), seed, index=i)`` returns numpy arrays; ``SyntheticScenes`` wraps
it as a torch Dataset (scenes are drawn on the fly, so DataLoader workers generate in parallel).
Real datasets live in :mod:`segflow_cli.data.datasets` (imported on demand); where their files lie
(flow layouts, the DAVIS tree), for training and the benchmarks alike, in :mod:`segflow_cli.data.layouts`.
"""

from .config import SceneConfig
from .scene import Scene, generate_scene
from .synthetic import SyntheticScenes

__all__ = ["SceneConfig", "Scene", "generate_scene", "SyntheticScenes"]
