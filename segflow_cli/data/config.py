"""Configuration of the procedural scene generator (one frozen dataclass, validated on creation)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SegflowError


@dataclass(frozen=True)
class SceneConfig:
    """What :func:`segflow_cli.data.generate_scene` draws.

    Motion limits are per frame step (frame t -> t+1). Fractions are of the frame width ``size[0]``.
    """

    size: tuple[int, int] = (384, 320)  # (W, H) of every frame
    frames: int = 2  # T; 2 for flow, up to 8 for video segmentation
    min_layers: int = 1  # foreground layers drawn in front of the background
    max_layers: int = 8
    object_prob: float = 0.85  # chance a foreground layer is a labelled object (else unlabelled "stuff")
    # foreground motion per step
    max_translation: float = 0.2  # fraction of W
    max_rotation: float = 15.0  # degrees
    max_scale: float = 0.15  # relative change
    max_shear: float = 0.1
    nonrigid: float = 0.04  # amplitude of the smooth deformation, fraction of the layer size
    # background (camera) motion per step
    camera_translation: float = 0.06  # fraction of W
    camera_rotation: float = 3.0  # degrees
    camera_scale: float = 0.05
    camera_perspective: float = 0.05  # projective terms, fraction of a pixel per frame width
    # appearance
    photo_prob: float = 0.6  # chance a texture is a photo crop rather than procedural
    builtin_photos: bool = True  # sample photos shipped by scikit-image / matplotlib / scikit-learn
    photo_dirs: tuple[str, ...] = ()  # extra folders of the user's own images
    similar_texture_prob: float = 0.25  # chance an object reuses the background's texture source
    # Sintel-like hard cases, off by default (0: the scene streams drawn so far stay bit-identical)
    thin_prob: float = 0.0  # chance a foreground layer is a thin structure (pole, wire, branch: 1-4 px)
    # photometric effects: they change pixels only, never the flow ground truth
    photometric: bool = True  # master switch (False: no brightness change, noise or blur)
    max_brightness: float = 0.15  # per-frame gain change and per-layer lighting drift
    max_noise: float = 0.02  # Gaussian noise sigma, fraction of 255
    blur_prob: float = 0.15
    motion_blur_prob: float = 0.1
    fog_prob: float = 0.0  # chance a clip is seen through haze: a smooth veil of airlight over every frame
    # video segmentation: keep at least one object mostly in view for all frames
    tracking: bool = False
    # the largest total scale change of a tracked object over the whole clip (1.4: at most 40 % larger or
    # smaller from first frame to last); real footage has objects that approach the camera (2-3x)
    tracked_zoom: float = 1.4
    # chance an object shows parts it did not show in the first frame: a second texture is swept over it
    # during the clip (a car turning its side to the camera, a dancer turning round). Flow and masks stay
    # exact (only the look changes); a memory that matches appearance has nothing to match the new parts
    # with, as on DAVIS drift-straight (benchmarks/RESULTS.md, stop 33). 0: no extra draw (streams unchanged).
    reveal_prob: float = 0.0
    # chance an object gets a twin: a second layer with the same canvas (same look and shape) and its own
    # motion, kept in the middle of the frame like a tracked object so the two cross (cups in a shell
    # game, a row of letter blocks). Labelled or not by the usual draw. A memory that matches appearance
    # cannot tell the two apart (SAM 2's 02_cups, benchmarks/RESULTS.md, stop 37). 0: no draw, streams unchanged.
    twin_prob: float = 0.0

    def __post_init__(self) -> None:
        w, h = self.size
        if w < 16 or h < 16:
            raise SegflowError(f"scene size {w}x{h} is too small; use at least 16x16 (e.g. 384x320)")
        if self.frames < 2:
            raise SegflowError(f"frames={self.frames}: a scene needs at least 2 frames")
        if not 0 <= self.min_layers <= self.max_layers:
            raise SegflowError(
                f"layers {self.min_layers}..{self.max_layers}: need 0 <= min_layers <= max_layers"
            )
        if self.max_layers > 254:
            raise SegflowError("max_layers must be below 255 (masks are uint8)")
        for name in ("object_prob", "photo_prob", "similar_texture_prob", "blur_prob", "motion_blur_prob",
                     "thin_prob", "fog_prob", "reveal_prob", "twin_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SegflowError(f"{name}={getattr(self, name)} must lie in [0, 1]")
        if self.tracked_zoom < 1.0:
            raise SegflowError(f"tracked_zoom={self.tracked_zoom} must be >= 1 (1: no scale change over the clip)")
        if not self.builtin_photos and not self.photo_dirs and self.photo_prob > 0:
            # procedural textures still work; photos simply never get drawn
            object.__setattr__(self, "photo_prob", 0.0)
        object.__setattr__(self, "size", (int(w), int(h)))
        object.__setattr__(self, "photo_dirs", tuple(str(p) for p in self.photo_dirs))
