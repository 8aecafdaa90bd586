"""The CLI under mistakes, interruptions and a busy machine (issue 12), driven through the real
command line: each bad input is one line, a non-zero exit, no traceback and no half-written output;
an interrupted run leaves a marked partial result; the threads policy reads the free cores."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from segflow_cli.cli import app

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO / "examples" / "orbit.mp4"  # 36 frames, 480x270
MASK = REPO / "examples" / "orbit_mask.png"
SMALL = ["--max-size", "64", "--device", "cpu", "--threads", "1"]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """The commands set torch's threads (--threads); give the rest of the suite its setting back."""
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _segment(out, *extra, video=VIDEO, mask=MASK):
    return runner.invoke(app, ["segment", str(video), "--mask", str(mask), "--out", str(out), *SMALL, *extra])


def _one_line_error(res, *needles):
    assert res.exit_code not in (0, None), res.output
    assert "Traceback" not in res.output, res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and errors[0] == res.output.strip().splitlines()[-1], res.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _nothing_in(out: Path) -> bool:
    return not out.exists() or not any(out.rglob("*"))


def _env() -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return env


@pytest.fixture(scope="module")
def frames():
    from segflow_cli.io import open_frames

    return list(open_frames(VIDEO))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory, frames):
    """360 frames as a folder of JPEGs: long enough to interrupt a run part-way."""
    d = tmp_path_factory.mktemp("long")
    for i, f in enumerate((frames + frames[::-1]) * 5):
        cv2.imwrite(str(d / f"{i:05d}.jpg"), f[:, :, ::-1])
    return d


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One complete run of the shipped network on the example clip."""
    out = tmp_path_factory.mktemp("first") / "out"
    res = _segment(out, "--flow")
    assert res.exit_code == 0, res.output
    return out, res


# ------------------------------------------------------------------------------------ threads policy


def test_threads_follow_the_free_cores(monkeypatch):
    from segflow_cli import policy

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(policy, "_affinity", lambda: 4)
    monkeypatch.setattr(policy.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(policy, "_own_load", lambda: 1.0)
    monkeypatch.setattr(policy, "_busy_elsewhere", lambda: None)  # no /proc/stat: the load average decides
    monkeypatch.setattr(policy.os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # only this process
    assert policy.pick_threads(None) == 4
    monkeypatch.setattr(policy.os, "getloadavg", lambda: (3.2, 1.0, 1.0))  # ~2 cores busy elsewhere
    assert policy.pick_threads(0) == 2
    monkeypatch.setattr(policy.os, "getloadavg", lambda: (40.0, 1.0, 1.0))  # saturated: still one
    assert policy.pick_threads(None) == 1
    assert policy.pick_threads(3) == 3  # --threads N wins
    monkeypatch.setattr(policy.os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's cap
    assert policy.pick_threads(None) == 2
    with pytest.raises(policy.ArgumentError, match="threads=-1"):
        policy.pick_threads(-1)
    import torch

    assert policy.configure_threads(1) == 1 and torch.get_num_threads() == 1
    res = runner.invoke(app, ["flow", str(MASK), str(MASK), "--threads", "-2"])
    _one_line_error(res, "--threads -2")


def test_freed_memory_is_kept_for_the_next_frame_on_glibc():
    """The CLI's allocator policy: on glibc a large block (a frame's activation) comes from the heap,
    which keeps it when freed, not from its own mmap, which is unmapped on free and page-faults anew on
    the next frame. Seen in malloc's own statistics: the mmap'ed bytes do not grow by the block."""
    import ctypes
    import platform

    from segflow_cli import policy

    if platform.libc_ver()[0] != "glibc":
        assert policy.keep_freed_memory() is False
        return

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = MallInfo2
    size = 48 << 20  # above glibc's largest automatic mmap threshold (32 MiB): mmap'ed without the policy

    def mmapped_while_held() -> int:
        before = libc.mallinfo2().hblkhd
        block = libc.malloc(size)
        grown = libc.mallinfo2().hblkhd - before
        libc.free(block)
        return grown

    assert mmapped_while_held() >= size or policy._KEPT  # without the policy (unless applied earlier)
    assert policy.keep_freed_memory() is True and policy.keep_freed_memory() is True  # once, idempotent
    assert mmapped_while_held() == 0


def test_free_cores_sample_the_cpus_now_not_the_last_minute(monkeypatch):
    """After a busy minute the load average still says 2 CPUs are taken; the CPUs, watched now, are
    idle: all cores are used. And a job that just started counts although the average has not seen it."""
    from segflow_cli import policy

    monkeypatch.setattr(policy, "_affinity", lambda: 4)
    monkeypatch.setattr(policy.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(policy, "_own_load", lambda: 0.0)
    monkeypatch.setattr(policy.time, "sleep", lambda s: None)
    monkeypatch.setattr(policy.os, "times", lambda: (0.0, 0.0, 0.0, 0.0, 0.0))

    def ticks(busy_per_sample):
        seq = iter([(0, 0), (busy_per_sample, 400)])  # 100 jiffies per CPU between the two reads
        return lambda: next(seq)

    monkeypatch.setattr(policy.os, "getloadavg", lambda: (2.0, 2.0, 2.0))
    monkeypatch.setattr(policy, "_cpu_ticks", ticks(0))  # idle now
    assert policy.free_cores() == 4
    monkeypatch.setattr(policy.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(policy, "_cpu_ticks", ticks(300))  # 3 CPUs busy now
    assert policy.free_cores() == 1
    assert policy._busy_elsewhere.__defaults__ == (policy.SAMPLE_SECONDS,) and policy.SAMPLE_SECONDS <= 0.5


@pytest.mark.parametrize("cmd", [["segment"], ["flow"], ["train"], ["benchmark", "davis"], ["benchmark", "flow"],
                                 ["benchmark", "speed"]])
def test_every_heavy_command_takes_threads(cmd):
    res = runner.invoke(app, [*cmd, "--help"])
    assert res.exit_code == 0 and "--threads" in res.output


def test_cli_entry_leaves_the_openmp_wait_policy_to_the_user():
    """Passive waiting costs a third of the idle speed; the threads policy gives torch the free cores."""
    code = "import os, segflow_cli.cli; print(os.environ.get('OMP_WAIT_POLICY', 'unset'))"
    env = {k: v for k, v in _env().items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "unset", out.stderr
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**env, "OMP_WAIT_POLICY": "PASSIVE"})
    assert out.stdout.strip() == "PASSIVE"  # the user's choice stays


def test_bf16_on_cpu_and_smoothed_mask_warn_in_one_line_each(tmp_path):
    from segflow_cli.io import DAVIS_PALETTE, read_mask

    rgb = np.asarray(DAVIS_PALETTE)[read_mask(MASK)]
    Image.fromarray(cv2.GaussianBlur(rgb, (5, 5), 1.5)).save(tmp_path / "soft.png")  # anti-aliased edges
    out = subprocess.run([sys.executable, "-m", "segflow_cli.cli", "segment", str(VIDEO), "--mask", str(tmp_path / "soft.png"),
                          "--out", str(tmp_path / "out"), *SMALL, "--precision", "bf16"],
                         capture_output=True, text=True, env=_env(), timeout=300)
    assert out.returncode == 0, out.stderr
    warnings = [ln for ln in out.stderr.splitlines() if "warning" in ln.lower()]
    assert any("bf16" in ln and "fp32" in ln for ln in warnings), out.stderr
    assert any("anti-aliased" in ln for ln in warnings), out.stderr
    assert all(ln.startswith("warning: ") for ln in warnings), out.stderr
    assert ".py" not in out.stderr and "warnings.warn" not in out.stderr, out.stderr
    assert len([ln for ln in warnings if "bf16 on the CPU" in ln]) == 1  # once, not once per frame


# ------------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("value", ["0", "-5", "8", "31"])
def test_max_size_below_the_stride_is_refused(tmp_path, value):
    res = _segment(tmp_path / "out", "--max-size", value)
    _one_line_error(res, f"--max-size {value}", "32")
    assert _nothing_in(tmp_path / "out")
    res = runner.invoke(app, ["flow", str(MASK), str(MASK), "--out", str(tmp_path / "f"), "--max-size", value])
    _one_line_error(res, "--max-size", "32")
    assert _nothing_in(tmp_path / "f")


def test_library_names_the_python_argument(tmp_path):
    from segflow_cli.errors import SegflowError
    from segflow_cli.inference.segment import segment_video

    with pytest.raises(SegflowError, match=r"max_size=8: below 32") as err:
        segment_video(VIDEO, MASK, tmp_path / "out", max_size=8)
    assert "--" not in str(err.value)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(SegflowError, match=r"overwrite=True"):
        segment_video(VIDEO, MASK, tmp_path / "used", method="dis-warp")


@pytest.mark.parametrize("kind", ["jpeg", "png", "grey"])
def test_a_photo_given_as_the_mask_is_refused(tmp_path, frames, kind):
    img = Image.fromarray(frames[0])
    path = tmp_path / {"jpeg": "f.jpg", "png": "f.png", "grey": "g.png"}[kind]
    (img.convert("L") if kind == "grey" else img).save(path)
    res = _segment(tmp_path / "out", mask=path)
    _one_line_error(res, "looks like a photo, not a mask")
    assert _nothing_in(tmp_path / "out")


def test_a_used_output_folder_is_refused_then_replaced_with_overwrite(first_run, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(first_run[0], out)
    before = sorted(p.name for p in (out / "masks").iterdir())
    assert before == [f"{i:05d}.png" for i in range(36)]
    stamp = (out / "overlay.mp4").stat().st_mtime_ns
    os.utime(out / "overlay.mp4", ns=(stamp - 10**9, stamp - 10**9))
    stamp -= 10**9
    res = _segment(out)
    _one_line_error(res, "--out", "previous run", "--overwrite")
    assert sorted(p.name for p in (out / "masks").iterdir()) == before  # untouched
    assert (out / "overlay.mp4").stat().st_mtime_ns == stamp
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    _one_line_error(_segment(other), "--out", "notes.txt")

    # --overwrite with --start 8: the old 00000-00007 must not survive beside the new frames 8..35
    res = _segment(out, "--overwrite", "--start", "8", "--method", "dis-warp")
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (out / "masks").iterdir())
    assert names == [f"{i:05d}.png" for i in range(8, 36)]  # input frame numbers kept
    assert not (out / ".partial").exists()
    from segflow_cli.io import open_frames

    assert sum(1 for _ in open_frames(out / "overlay.mp4")) == 28


def test_outputs_have_normal_permissions_and_matching_rates(first_run):
    out, res = first_run
    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    for p in [out / "masks" / "00000.png", out / "overlay.mp4", out / "flow.mp4"]:
        assert p.stat().st_mode & 0o777 == expected, (p, oct(p.stat().st_mode))
    assert not (out / ".partial").exists() and not list(out.glob(".*tmp*"))
    summary = re.search(r"\(([\d.]+) frames/s\)", res.stdout)
    bar = re.findall(r"36/36\s+([\d.]+) frames/s", res.stderr)
    assert summary and bar and bar[-1] == summary.group(1), res.output  # one measure, not two
    assert res.stdout.strip().count("\n") == 0  # stdout: the summary line only (the bar is on stderr)


def test_train_resume_without_a_checkpoint_is_refused(tmp_path):
    res = runner.invoke(app, ["train", "--out", str(tmp_path / "new"), "--resume", "--device", "cpu"])
    _one_line_error(res, "--resume", "checkpoint")
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    _one_line_error(runner.invoke(app, ["train", "--out", str(tmp_path / "empty"), "--resume"]), "--resume")


def test_other_known_bad_inputs_stay_one_line(tmp_path):
    a = np.zeros((40, 60, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), a)
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((30, 60, 3), np.uint8))
    _one_line_error(runner.invoke(app, ["flow", str(tmp_path / "a.png"), str(tmp_path / "b.png"),
                                        "--out", str(tmp_path / "f")]), "differ in size")
    assert _nothing_in(tmp_path / "f")
    _one_line_error(runner.invoke(app, ["benchmark", "davis", "--root", str(tmp_path / "nope"),
                                        "--predictions", str(tmp_path)]))
    _one_line_error(_segment(tmp_path / "o", "--device", "tpu"), "--device tpu")
    _one_line_error(_segment(tmp_path / "o", "--start", "36"), "--start 36", "past the end")
    _one_line_error(_segment(tmp_path / "o", "--start", "-1"), "--start -1")
    _one_line_error(_segment(tmp_path / "o", "--precision", "fp16"), "--precision fp16", "CPU")
    assert _nothing_in(tmp_path / "o")


# ------------------------------------------------------------------------------ interrupted runs


def _masks(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "masks").glob("*.png")) if (out / "masks").is_dir() else []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_leaves_a_marked_partial_result(long_clip, tmp_path, sig):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "segflow_cli.cli", "segment", str(long_clip), "--mask", str(MASK), "--out", str(out),
           *SMALL, "--start", "2"]
    # As from a terminal: a test run started in the background (`cmd &` in a script) inherits an
    # ignored SIGINT, which Python then keeps ignoring; the user's Ctrl-C is what is tested here.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while len(_masks(out)) < 4 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    last_line = stderr.strip().splitlines()[-1]
    m = re.fullmatch(r"interrupted after frame (\d+); partial result in (.+) \((.+) marks it\)", last_line)
    assert m, stderr
    last = int(m.group(1))
    assert Path(m.group(3)) == out / ".partial"
    record = json.loads((out / ".partial").read_text())
    assert record["last_frame"] == last and record["first_frame"] == 2
    assert _masks(out) == [f"{i:05d}.png" for i in range(2, last + 1)]  # complete masks, named by input frame
    assert not list(out.glob("*.mp4")) and not list(out.glob(".*tmp*"))  # no half-written video
    assert last < 300  # it really stopped part-way


def _failing_write(monkeypatch, at: int, exc: BaseException):
    from segflow_cli.inference import outputs

    original, calls = outputs.OutputWriter.write, [0]

    def write(self, frame, res):
        calls[0] += 1
        if calls[0] > at:
            raise exc
        original(self, frame, res)

    monkeypatch.setattr(outputs.OutputWriter, "write", write)


def test_interruption_is_raised_from_the_writer_thread_and_marked(monkeypatch, tmp_path):
    _failing_write(monkeypatch, 3, KeyboardInterrupt())
    res = _segment(tmp_path / "out", "--method", "dis-warp")
    assert res.exit_code == 130, res.output
    assert res.stderr.strip().splitlines()[-1].startswith("interrupted after frame 2; partial result in")
    assert _masks(tmp_path / "out") == ["00000.png", "00001.png", "00002.png"]
    assert json.loads((tmp_path / "out" / ".partial").read_text())["last_frame"] == 2


def test_writer_and_reader_errors_reach_the_command_as_one_line(monkeypatch, tmp_path, long_clip):
    from segflow_cli.errors import SegflowError

    _failing_write(monkeypatch, 5, SegflowError("writing masks failed: disk full"))
    res = _segment(tmp_path / "w", "--method", "dis-warp")
    line = _one_line_error(res, "disk full", ".partial")
    assert "frames 0..4" in line and _masks(tmp_path / "w") == [f"{i:05d}.png" for i in range(5)]
    assert not list((tmp_path / "w").glob("*.mp4"))

    _failing_write(monkeypatch, 0, SegflowError("writing masks failed: disk full"))  # nothing written: nothing left
    _one_line_error(_segment(tmp_path / "w0", "--method", "dis-warp"), "disk full")
    assert not (tmp_path / "w0").exists()
    monkeypatch.undo()

    import segflow_cli.io.video as video

    original, calls = video.read_image, [0]

    def read_image(path):
        calls[0] += 1
        if calls[0] > 6:
            raise SegflowError(f"{path} is truncated")
        return original(path)

    monkeypatch.setattr(video, "read_image", read_image)
    res = _segment(tmp_path / "r", "--method", "dis-warp", video=long_clip)
    _one_line_error(res, "is truncated", ".partial")
    assert (tmp_path / "r" / ".partial").exists()


# ---------------------------------------------------------------------------------------- info


def test_info_is_fast_without_torch_and_readable_when_piped():
    code = ("import sys, time; from segflow_cli.cli import app\nt = time.perf_counter()\ntry:\n    app(['info'])\n"
            "except SystemExit:\n    pass\nprint('SECONDS', time.perf_counter() - t, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    seconds, torch_loaded = out.stdout.strip().splitlines()[-1].split()[1:]
    assert torch_loaded == "False" and float(seconds) < 2.0, out.stdout
    assert "segflow-lite.safetensors" in out.stdout and "…" not in out.stdout  # piped: nothing cut
    assert re.search(r"[0-9a-f]{12} ok", out.stdout), out.stdout  # the checksum was verified


def test_info_says_whether_the_cpu_runs_the_bf16_copies(monkeypatch):
    """`segflow info` names the bf16 policy's decision on this CPU (policy.cpu_native_bf16): the same flags
    that make the runner take the bf16 copies."""
    from typer.testing import CliRunner

    from segflow_cli import policy
    from segflow_cli.cli import app

    for flags, word in (({"avx512_bf16", "avx512f"}, "native (avx512_bf16)"), ({"amx_bf16"}, "native (amx_bf16)"),
                        ({"avx2"}, "not native")):
        monkeypatch.setattr(policy, "_FLAGS", [flags])
        res = CliRunner().invoke(app, ["info", "--no-verify"])
        assert res.exit_code == 0, res.output
        line = next(ln for ln in res.output.splitlines() if ln.startswith("CPU bf16:"))
        assert line.startswith(f"CPU bf16: {word}"), line


def _read_video_frames(path: Path) -> int:
    from segflow_cli.io import open_frames

    with open_frames(path) as src:
        return sum(1 for _ in src)


def test_resume_continues_an_interrupted_run(monkeypatch, tmp_path):
    """Interrupted after frame 11, the same command with --resume keeps frames 0..11 as written,
    rebuilds the memory from them and writes the rest: masks for every frame, whole videos, no
    .partial, and the masks after the resume point close to an uninterrupted run's."""
    from segflow_cli.io import read_mask

    fmt = ["--format", "png", "--format", "rgba", "--max-size", "256", "--flow"]  # a grid fine enough to rebuild from masks
    full = tmp_path / "full"
    assert _segment(full, *fmt).exit_code == 0
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        _failing_write(m, 12, KeyboardInterrupt())
        assert _segment(out, *fmt).exit_code == 130
    assert _masks(out) == [f"{i:05d}.png" for i in range(12)]
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "masks").iterdir()}
    res = _segment(out, *fmt, "--resume")
    assert res.exit_code == 0, res.output
    assert "resumed after frame 11" in res.output
    assert not (out / ".partial").exists()
    assert _masks(out) == _masks(full) and len(_masks(out)) == 36
    assert all((out / "masks" / n).stat().st_mtime_ns == t for n, t in kept.items())  # not rewritten
    assert _read_video_frames(out / "overlay.mp4") == 36 and _read_video_frames(out / "flow.mp4") == 36
    ious = []
    for name in _masks(full)[12:]:
        a, b = read_mask(full / "masks" / name) != 0, read_mask(out / "masks" / name) != 0
        ious.append((a & b).sum() / max((a | b).sum(), 1))
    assert np.mean(ious) > 0.9, ious


def test_resume_refuses_other_options_and_folders_without_a_partial_run(monkeypatch, tmp_path):
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        _failing_write(m, 3, KeyboardInterrupt())
        assert _segment(out).exit_code == 130
    _one_line_error(_segment(out, "--resume", "--method", "dis-warp"), "--method dis-warp", "propagate")
    _one_line_error(_segment(out, "--resume", "--edge-eps", "0.01"), "--edge-eps 0.01", "0.001")
    _one_line_error(_segment(out, "--resume", "--threshold", "0.5"), "--threshold 0.5", "0.4")
    _one_line_error(_segment(out, "--resume", "--overwrite"), "--resume", "--overwrite")
    assert _masks(out) == ["00000.png", "00001.png", "00002.png"]  # refused: nothing touched
    assert _segment(out, "--resume").exit_code == 0  # the same options continue it
    _one_line_error(_segment(out, "--resume"), "nothing to resume", "--overwrite")  # finished now
    _one_line_error(_segment(tmp_path / "new", "--resume"), "nothing to resume")


def test_more_near_frames_than_memory_frames_is_a_one_line_error(tmp_path):
    """--memory-near counts frames among --memory-frames: asking for more names both flags and the
    bound, exits 2 and writes nothing; the library names its arguments."""
    from segflow_cli.errors import SegflowError
    from segflow_cli.inference import create_session

    out = tmp_path / "o"
    res = _segment(out, "--memory-frames", "3", "--memory-near", "4")
    _one_line_error(res, "--memory-near 4", "--memory-frames 3", "at most 3")
    assert _nothing_in(out)
    with pytest.raises(SegflowError, match=r"memory_near=4 is more than memory_frames=3"):
        create_session(method="dis-warp", memory_frames=3, memory_near=4)


def test_options_the_default_method_cannot_use_name_the_method_flag(tmp_path):
    """--finetune-steps and --no-memory belong to --method segflow: with the default (propagate) each is a
    one-line error in flag words that says to add --method segflow, exit 2, nothing written; the
    library says the same in argument words."""
    from segflow_cli.errors import SegflowError
    from segflow_cli.inference import create_session

    for flag, needle in ((["--finetune-steps", "2"], "--finetune-steps"), (["--no-memory"], "--no-memory")):
        out = tmp_path / flag[0].strip("-")
        res = _segment(out, *flag)
        assert res.exit_code == 2, res.output
        _one_line_error(res, needle, "add --method segflow")
        assert _nothing_in(out)
    with pytest.raises(SegflowError, match="memory=False leaves method propagate"):
        create_session(method="propagate", memory=False)


def test_threshold_outside_zero_one_is_a_one_line_error_and_shows_more_below_half(tmp_path):
    """--threshold must lie in (0, 1): a one-line error, exit 2, nothing written; the library names
    the argument. In range it decides the shown masks only: the same video at 0.2 shows more object
    than at 0.8 through the real session (the memory, which keeps soft values, is the same)."""
    from segflow_cli.errors import SegflowError
    from segflow_cli.inference import create_session
    from segflow_cli.io import open_frames, read_mask

    out = tmp_path / "o"
    _one_line_error(_segment(out, "--threshold", "1.5"), "--threshold 1.5", "between 0 and 1")
    assert _nothing_in(out)
    with pytest.raises(SegflowError, match=r"threshold=0.0"):
        create_session(method="dis-warp", threshold=0.0)
    with open_frames(VIDEO) as src:
        frames = [f for _, f in zip(range(6), src)]
    first = read_mask(MASK)
    area = {}
    for t in (0.2, 0.8):
        session = create_session(method="propagate", max_size=256, compute_flow=False, threshold=t)
        area[t] = sum(int((r.mask > 0).sum()) for r in session.propagate(frames, first_mask=first))
    assert area[0.2] > area[0.8] > 0, area
