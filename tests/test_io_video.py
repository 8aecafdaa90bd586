"""Video write -> read round trips, frame folders / globs, and the error paths users hit."""

from __future__ import annotations

import numpy as np
import pytest

from segflow_cli.errors import FormatError, SegflowError
from segflow_cli.io import VideoWriter, natural_key, open_frames, write_image


def _frames(n: int, w: int, h: int) -> list[np.ndarray]:
    """Smooth gradients with a moving square: easy for a lossy codec, yet every frame differs."""
    yy, xx = np.mgrid[:h, :w]
    out = []
    for t in range(n):
        f = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), np.full_like(xx, 40 + 20 * t)], 2)
        f[5:15, 3 + 3 * t:13 + 3 * t] = (250, 250, 250)
        out.append(f.astype(np.uint8))
    return out


@pytest.mark.parametrize(("w", "h", "fps"), [(64, 48, 12.5), (33, 27, 10.0)])
def test_video_round_trip(tmp_path, w, h, fps):
    frames = _frames(8, w, h)
    path = tmp_path / "out" / "v.mp4"
    with VideoWriter(path, fps=fps, size=(w, h)) as vw:
        for f in frames:
            vw.write(f)
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["v.mp4"]  # temp file renamed away
    with open_frames(path) as src:
        assert src.size == (w, h) and src.fps == pytest.approx(fps)
        assert src.num_frames == 8 and src.name == "v.mp4"
        got = list(src)
        assert len(list(src)) == 8  # iterating again restarts the stream
    assert len(got) == 8 and all(g.shape == (h, w, 3) and g.dtype == np.uint8 for g in got)
    err = np.mean([np.abs(g.astype(int) - f).mean() for g, f in zip(got, frames)])
    assert err < 3.0, err
    with open_frames(path, start=3) as src:
        rest = list(src)
    assert len(rest) == 5 and np.abs(rest[0].astype(int) - frames[3]).mean() < 3.0


def test_writer_error_leaves_nothing(tmp_path):
    path = tmp_path / "v.mp4"
    with pytest.raises(KeyError):
        with VideoWriter(path, fps=10, size=(16, 16)) as vw:
            vw.write(np.zeros((16, 16, 3), np.uint8))
            raise KeyError("boom")
    assert list(tmp_path.iterdir()) == []
    with VideoWriter(path, fps=10, size=(16, 16)) as vw:
        with pytest.raises(FormatError, match="16x16"):
            vw.write(np.zeros((16, 18, 3), np.uint8))
        with pytest.raises(FormatError, match="uint8"):
            vw.write(np.zeros((16, 16, 3), np.float32))
        vw.write(np.zeros((16, 16), np.uint8))  # grey is replicated
    assert path.is_file()
    with pytest.raises(SegflowError, match="no frames"):
        with VideoWriter(tmp_path / "empty.mp4", fps=10, size=(16, 16)):
            pass
    assert not (tmp_path / "empty.mp4").exists()


def test_folder_natural_sort_and_glob(tmp_path):
    d = tmp_path / "clip"
    for i in (10, 2, 1):
        write_image(d / f"frame{i}.png", np.full((6, 5, 3), i, np.uint8))
    (d / "notes.txt").write_text("ignored")
    (d / ".hidden.png").write_bytes(b"ignored")
    src = open_frames(d)
    assert src.size == (5, 6) and src.num_frames == 3 and src.fps == 24.0
    assert [int(f[0, 0, 0]) for f in src] == [1, 2, 10]
    assert [int(f[0, 0, 0]) for f in open_frames(d, start=1, fps=7.5)] == [2, 10]
    g = open_frames(str(d / "frame*.png"))
    assert [int(f[0, 0, 0]) for f in g] == [1, 2, 10] and g.num_frames == 3
    assert sorted(["b10", "b9", "a"], key=natural_key) == ["a", "b9", "b10"]


def test_frame_source_errors(tmp_path):
    with pytest.raises(SegflowError, match="not found"):
        open_frames(tmp_path / "missing.mp4")
    (tmp_path / "fake.mp4").write_text("this is not a video")
    with pytest.raises(SegflowError, match="not a video"):
        open_frames(tmp_path / "fake.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SegflowError, match="no images"):
        open_frames(tmp_path / "empty")
    with pytest.raises(SegflowError, match="no image files match"):
        open_frames(str(tmp_path / "empty" / "*.png"))
    mixed = tmp_path / "mixed"
    write_image(mixed / "0.png", np.zeros((6, 5, 3), np.uint8))
    write_image(mixed / "1.png", np.zeros((7, 5, 3), np.uint8))
    with pytest.raises(SegflowError, match="differ in size"):
        open_frames(mixed)
    with VideoWriter(tmp_path / "two.mp4", fps=5, size=(16, 16)) as vw:
        vw.write(np.zeros((16, 16, 3), np.uint8))
        vw.write(np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(SegflowError, match="no video frames after frame 5"):
        open_frames(tmp_path / "two.mp4", start=5)


def test_real_video_streams(shared_data):
    with open_frames(shared_data / "videos/sam2/bedroom.mp4", start=2) as src:
        assert src.size == (960, 540) and src.fps > 0 and src.num_frames and src.num_frames > 10
        for i, frame in enumerate(src):  # streamed: stop early without decoding the rest
            assert frame.shape == (540, 960, 3)
            if i == 2:
                break
    with pytest.raises(SegflowError, match="give one of its videos"):
        open_frames(shared_data / "videos/sam2")
