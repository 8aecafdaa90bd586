"""The generated validation clips that settings are chosen on (eval.synthetic)."""

from __future__ import annotations

import numpy as np

from segflow_cli.eval.synthetic import score_clip, validation_clips


class _Replay:
    """A session that answers with fixed masks (what score_clip reads: .propagate -> results)."""

    def __init__(self, masks):
        self.masks = masks

    def propagate(self, frames, first_mask):
        from types import SimpleNamespace

        for i, (_, m) in enumerate(zip(frames, self.masks)):
            yield SimpleNamespace(index=i, mask=m)


def test_long_zoom_clips_generate_and_keep_an_object_in_view():
    # 60 frames used to overflow the generator's compounding scale and perspective terms
    clips = validation_clips(clips=2, frames=60, size=(160, 96), tracked_zoom=2.5)
    for scene in clips:
        assert np.isfinite(scene.frames.astype(np.float32)).all() and len(scene.masks) == 60
        persistent = [i for i in np.unique(scene.masks[0]) if i and all((m == i).any() for m in scene.masks)]
        assert persistent, "the tracked object must stay in view"
    # the default clips are untouched by the new knob
    a = validation_clips(clips=1, frames=8, size=(160, 96))[0]
    b = validation_clips(clips=1, frames=8, size=(160, 96), tracked_zoom=1.4)[0]
    assert np.array_equal(a.frames, b.frames)


def test_score_clip_reads_misses_and_t():
    scene = validation_clips(clips=1, frames=6, size=(160, 96))[0]
    perfect = score_clip(_Replay(scene.masks), scene, t=True)
    assert perfect["J"] == 1.0 and perfect["F"] == 1.0 and perfect["miss"] == 0.0 and perfect["T"] >= 0.0
    # an empty prediction after the first frame: every error is a miss
    empty = [scene.masks[0]] + [np.zeros_like(m) for m in scene.masks[1:]]
    lost = score_clip(_Replay(empty), scene)
    assert lost["J"] == 0.0 and lost["miss"] == 1.0
