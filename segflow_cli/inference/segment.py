"""segment_video: the whole `segflow segment` job as a library call (the CLI only parses options).

The job runs as a small pipeline, as video tools do: a reader thread decodes frames ahead into a
bounded queue, the main thread runs the session, and a writer thread writes masks, flow files and
the mp4s behind it from another bounded queue, so decoding and encoding overlap the network. An
error in either thread is raised in the caller's thread.

The output folder: a folder that already holds files is refused unless ``overwrite=True`` (which
removes the previous run's outputs first). ``OUT/.partial`` exists while a run is in progress and
stays if it does not finish (Ctrl-C, SIGTERM, an error part-way), naming the last frame written;
a completed run removes it. Masks are named by input frame number (``start`` + position).

``formats`` (see ``outputs.FORMATS``) chooses what is written per frame besides overlay.mp4/flow.mp4.
``segment_batch`` runs many videos with one network: OUT/<video stem>/ each, masks looked up by stem.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import threading
import time
from pathlib import Path

from ..errors import ArgumentError, SegflowError
from ..policy import check_max_size
from .methods import EDGE_EPS, EDGE_RADIUS, MASK_THRESHOLD, MEMORY_EVERY, MEMORY_FRAMES, MEMORY_NEAR, SEGMENT_DEFAULT, SEGMENT_MAX_SIZE

PARTIAL = ".partial"
OUTPUT_NAMES = ("masks", "flow", "rgba", "objects", "overlay.mp4", "flow.mp4", "alpha.mp4", "alpha.webm", "alpha.mov",
                "masks.json", PARTIAL)
_QUEUE_FRAMES = 8  # frames decoded ahead / waiting to be written: bounded memory, enough to absorb jitter
_POLL = 0.1  # seconds between checks for the other thread's failure while waiting on a queue


class SegmentInterrupted(KeyboardInterrupt):
    """Ctrl-C / SIGTERM during ``segment_video``; ``str()`` is the one-line account of what was left.
    ``last_frame`` is the input frame number of the last mask written (None: nothing written)."""

    def __init__(self, message: str, *, out: Path, last_frame: int | None) -> None:
        super().__init__(message)
        self.out, self.last_frame = out, last_frame


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".segflow-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ArgumentError("out", str(out), f"cannot write to this folder ({exc.strerror})",
                            fix="choose another folder") from None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def check_output_folder(out: Path, *, overwrite: bool = False, inputs: tuple = ()) -> None:
    """Refuse an ``out`` that is a file, or a folder that already holds anything unless ``overwrite``
    (then only segflow's own outputs there will be replaced; ``inputs`` must not be among them)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ArgumentError("out", str(out), "is a file, not a folder", fix="choose a folder")
    if not out.is_dir():
        return
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir())
    if not entries:
        return
    if not overwrite:
        shown = ", ".join(entries[:4]) + (f" and {len(entries) - 4} more" if len(entries) > 4 else "")
        what = "a previous run" if any(e.rstrip("/") in OUTPUT_NAMES for e in entries) else "files"
        raise ArgumentError("out", str(out), f"already holds {what} ({shown})",
                            fix="pass overwrite=True to replace segflow's outputs there, or choose a new folder",
                            cli_fix="add --overwrite to replace segflow's outputs there, or choose a new folder")
    for src in inputs:
        if src is not None and any(_inside(Path(src), out / name) for name in OUTPUT_NAMES):
            raise ArgumentError("out", str(out), f"overwriting it would delete the input {src}",
                                fix="choose another output folder")


def remove_previous_outputs(out: Path) -> None:
    """Delete what an earlier segment run wrote into ``out`` (masks/, flow/, its mp4s, .partial, temporaries)."""
    out = Path(out)
    for name in OUTPUT_NAMES:
        p = out / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    for p in out.glob(".*.tmp.*"):  # temporaries of a run killed outright
        if p.is_file():
            p.unlink()


def _write_partial(out: Path, *, first: int, written: int, reason: str, run: dict | None = None) -> None:
    """OUT/.partial: how far the run got, and (``run``, kept from the previous record when None) the
    options it was started with, which ``resume`` checks."""
    last = first + written - 1 if written else None
    if run is None:
        run = read_partial(out).get("run", {})
    record = {
        "status": "partial" if written else "started",
        "reason": reason,
        "first_frame": first,
        "last_frame": last,
        "frames_written": written,
        "note": (f"segflow segment did not finish: frames {first:05d} .. {last:05d} are complete (masks/, rgba/, "
                 "objects/, flow/, as asked); the videos and masks.json were not written" if written else
                 "segflow segment is running or was stopped before the first frame was written"),
        "run": run,
    }
    tmp = out / f"{PARTIAL}.tmp"
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, out / PARTIAL)


def read_partial(out: Path) -> dict:
    """The record in OUT/.partial ({} when there is none or it cannot be read)."""
    try:
        return json.loads((Path(out) / PARTIAL).read_text())
    except (OSError, ValueError):
        return {}


# The options a resumed run must share with the run it continues (the masks it replays depend on them).
_RUN_KEYS = ("video", "start", "method", "max_size", "weights", "memory", "memory_frames", "memory_every", "memory_near",
             "finetune_steps", "formats", "save_flow", "alpha", "flow_video", "edge_radius", "edge_eps", "threshold")


def _resume_plan(out: Path, run: dict) -> tuple[dict | None, int]:
    """For ``resume``: the earlier run's masks {index from start: (H, W) ids} (index 0 the first
    frame's) and how many frames it wrote, or (None, 0) when it wrote none (the run starts afresh).
    SegflowError when there is nothing to resume or the options differ."""
    from ..io import read_mask

    record = read_partial(out)
    if not record:
        what = f"nothing to resume in {out}: it has no {PARTIAL} record of an interrupted run"
        raise SegflowError(f"{what}; run without resume (with overwrite=True to replace a finished run)",
                           cli=f"{what}; run without --resume (with --overwrite to replace a finished run)")
    if not record.get("frames_written"):
        return None, 0
    # Records written before memory_every / memory_near / threshold existed ran with every frame kept in
    # order and the plain argmax.
    before = {"memory_every": 1, "memory_near": 0, "threshold": 0.5, **record.get("run", {})}
    for k in _RUN_KEYS:
        if k in before and before[k] != run[k]:
            raise ArgumentError(k, run[k], f"the interrupted run in {out} used {before[k]!r}",
                                fix="resume with the same options, or start over with overwrite=True",
                                cli_fix="resume with the same options, or start over with --overwrite",
                                flag={"formats": "--format", "video": "VIDEO", "flow_video": "--flow",
                                      "edge_radius": "--edge-radius", "edge_eps": "--edge-eps",
                                      "threshold": "--threshold"}.get(k))
    if "png" not in run["formats"]:
        what = f"resume rebuilds the memory from {out}/masks/, which this run did not write"
        raise SegflowError(f"{what} (formats without png); start over with overwrite=True",
                           cli=f"{what} (no --format png); start over with --overwrite")
    first, n = int(record["first_frame"]), int(record["frames_written"])
    done = {}
    for i in range(n):
        p = out / "masks" / f"{first + i:05d}.png"
        if not p.is_file():
            what = f"{p} is missing, so the interrupted run cannot be resumed"
            raise SegflowError(f"{what}; start over with overwrite=True", cli=f"{what}; start over with --overwrite")
        done[i] = read_mask(p)
    return done, n


class _Reader(threading.Thread):
    """Decode ahead: iterates ``source`` into a bounded queue; errors are handed to the consumer."""

    def __init__(self, source, maxsize: int) -> None:
        super().__init__(name="segflow-decode", daemon=True)
        self.source, self.q, self.stop = source, queue.Queue(maxsize), threading.Event()

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        it = iter(self.source)
        try:
            for frame in it:
                if not self._put(("frame", frame)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer's thread
            self._put(("error", exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def frames(self):
        while True:
            kind, value = self.q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value


class _Writer(threading.Thread):
    """Write behind: runs ``OutputWriter.write`` on queued (frame, result) pairs; counts what is done."""

    def __init__(self, writer, maxsize: int) -> None:
        super().__init__(name="segflow-write", daemon=True)
        self.writer, self.q = writer, queue.Queue(maxsize)
        self.error: BaseException | None = None
        self.written = 0
        self.abort = threading.Event()

    def run(self) -> None:
        while not self.abort.is_set():
            item = self.q.get()
            if item is None:
                return
            try:
                self.writer.write(*item)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the producer's thread
                self.error = exc
                return
            self.written += 1

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, item) -> None:
        while True:
            self.check()
            if not self.is_alive():
                raise SegflowError("the output writer stopped unexpectedly")
            try:
                self.q.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Write everything queued, then stop; raises the writer's error if it had one."""
        if self.error is None and self.is_alive():
            self.put(None)
            self.join()
        self.check()

    def stop_now(self, timeout: float = 5.0) -> None:
        self.abort.set()
        try:
            self.q.put_nowait(None)
        except queue.Full:
            pass
        if self.ident is not None:
            self.join(timeout)


def _rate(n: int, t0: float, finetune: float, now: float | None = None) -> float:
    """Frames/s as both the progress bar and the summary report it: frames written over the
    time since the start, fine-tuning excluded."""
    dt = (time.perf_counter() if now is None else now) - t0 - finetune
    return n / max(dt, 1e-6)


def _fit_mask(mask, size, name):
    """A mask a pixel or two off the video's size (an 853-wide mask for 854-wide frames) is resized
    (nearest) with a warning; anything else is refused."""
    import warnings

    import cv2

    w, h = size
    if mask.shape == (h, w):
        return mask
    if abs(mask.shape[0] - h) <= 2 and abs(mask.shape[1] - w) <= 2:
        warnings.warn(f"{name} is {mask.shape[1]}x{mask.shape[0]}, the video {w}x{h}: resized to fit", stacklevel=2)
        return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    raise SegflowError(f"{name} is {mask.shape[1]}x{mask.shape[0]} but the video is {w}x{h}; give masks at the video's size")


def _mask_folder(folder: Path, start: int, size):
    """A folder of masks named by frame number (DAVIS / Cutie: 00000.png, 00010.png, ...) -> the mask of
    frame ``start`` and {index from start: mask} for the later ones (each adds or re-anchors objects)."""
    from ..io import read_mask

    files = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() == ".png" and p.stem.isdigit():
            files[int(p.stem)] = p
    if start not in files:
        found = ", ".join(p.name for p in list(files.values())[:3]) or "no NNNNN.png files"
        raise SegflowError(f"{folder} has no mask for the first frame ({start:05d}.png; found {found}); "
                           "name masks by frame number")
    first = _fit_mask(read_mask(files[start]), size, files[start].name)
    later = {n - start: _fit_mask(read_mask(p), size, p.name) for n, p in files.items() if n > start}
    return first, later


def _embedder(session, model, max_size: int):
    """frame -> (C, h, w) unit-norm memory key: the session's network, or the shipped one when the
    method has none (dis-warp)."""
    from . import PairRunner

    runner = session.runner
    if runner is None:
        if model is None:
            from ..weights import load_model

            model, _, _ = load_model()
        runner = PairRunner(model, device="cpu")
    return runner.embedder(max_size)


def segment_video(video, mask_path, out, *, start: int = 0, method: str = SEGMENT_DEFAULT, finetune_steps: int = 0,
                  max_size: int = SEGMENT_MAX_SIZE, save_flow: bool = False, alpha: bool = False, weights: str = "segflow-lite",
                  device: str = "auto", precision: str = "fp32", progress: bool = False, model=None,
                  overwrite: bool = False, queue_frames: int = _QUEUE_FRAMES, memory: bool = True,
                  memory_frames: int = MEMORY_FRAMES, memory_every: int = MEMORY_EVERY,
                  memory_near: int = MEMORY_NEAR, boxes=None, formats=None, points=None, resume: bool = False,
                  flow_video: bool = False, edge_radius: int = EDGE_RADIUS, edge_eps: float = EDGE_EPS,
                  threshold: float = MASK_THRESHOLD, stats: dict | None = None) -> str:
    """Segment ``video`` from the first-frame ``mask_path`` (or ``points`` [(x, y)], a click inside each
    object, see prompts.mask_from_points, or ``boxes`` [(x0, y0, x1, y1)], one object
    each, turned into a mask by GrabCut); writes into ``out`` the ``formats`` asked for (default
    ``("png",)``; see ``outputs.FORMATS``) besides overlay.mp4; returns a one-line summary.
    ``flow_video``: also write flow.mp4 (the joint network's flow to the previous frame); off by default:
    the default ``propagate`` then computes no flow at all (its masks do not need it) and runs about 4x
    faster end to end (benchmarks/RESULTS.md, stop 27). ``save_flow``: write flow/NNNNN.flo (computes the
    flow whether or not flow.mp4 is written). ``edge_radius``, ``edge_eps``: the
    readout's edge refinement (VideoSession; radius 0: off); ``threshold``: the shown masks' decision
    (VideoSession; 0.5: the plain argmax). ``stats``: a dict the run fills with
    ``frames``, ``seconds`` and ``fps`` unrounded (the summary's figures are rounded for reading).

    ``resume``: continue the interrupted run in ``out`` (its ``.partial`` record, same options): its
    masks are kept, the memory is rebuilt from the last of them, the videos and masks.json are made
    again over all frames (with flow_video, the flow of the earlier frames is computed again for flow.mp4), and
    prediction goes on from the first frame it did not write.

    Raises SegflowError (ArgumentError naming the argument) for bad inputs before anything is
    written, and :class:`SegmentInterrupted` on KeyboardInterrupt once writing has begun."""
    from ..io import open_frames, read_mask
    from . import create_session
    from .outputs import OutputWriter, check_formats

    check_max_size(max_size)
    formats = check_formats(formats)
    if resume and overwrite:
        raise SegflowError("resume continues the run in out and overwrite replaces it: give one of them",
                           cli="--resume continues the run in --out and --overwrite replaces it: give one of them")
    run = dict(video=str(video), start=int(start), method=method, max_size=int(max_size), weights=str(weights),
               memory=bool(memory), memory_frames=int(memory_frames), memory_every=int(memory_every),
               memory_near=int(memory_near), finetune_steps=int(finetune_steps),
               formats=list(formats), save_flow=bool(save_flow), alpha=bool(alpha), flow_video=bool(flow_video),
               edge_radius=int(edge_radius), edge_eps=float(edge_eps), threshold=float(threshold))
    # One session recipe for both places that build it (point prompts need it before the mask exists).
    session_kw = dict(method=method, weights=weights, device=device, precision=precision, max_size=max_size,
                      finetune_steps=finetune_steps, model=model, memory=memory, memory_frames=memory_frames,
                      memory_every=memory_every, memory_near=memory_near,
                      compute_flow=flow_video or save_flow, edge_radius=edge_radius, edge_eps=edge_eps, threshold=threshold)
    done, resumed = (None, 0)
    if resume:
        done, resumed = _resume_plan(Path(out), run)
        overwrite = done is None  # an interrupted run that wrote nothing: start afresh
    if "alpha-video" in formats:
        from ..io import alpha_codec

        alpha_codec()  # the bundled ffmpeg can write alpha: refuse before anything runs
    out = Path(out)
    if sum(x is not None and x is not False and x != [] for x in (mask_path, boxes or None, points or None)) != 1:
        raise SegflowError("give the first frame's objects as one of: a mask file, boxes or points")
    if mask_path is not None:
        mask_path = Path(mask_path)
        if not mask_path.exists():
            raise SegflowError(f"mask file not found: {mask_path}")
    source = open_frames(video, start=start)  # fails early: missing, not a video, no frames
    later = {}
    try:
        if mask_path is not None and mask_path.is_dir():
            mask, later = _mask_folder(mask_path, start, source.size)
        elif mask_path is not None:
            mask = read_mask(mask_path)
        elif boxes:
            from .prompts import mask_from_boxes

            with open_frames(video, start=start) as peek:
                mask = mask_from_boxes(next(iter(peek)), boxes)
            mask_path = Path("the boxes")
        else:
            from .prompts import mask_from_points

            session = create_session(**session_kw)
            with open_frames(video, start=start) as peek:
                mask = mask_from_points(next(iter(peek)), points, _embedder(session, model, max_size))
            mask_path = Path("the points")
        w, h = source.size
        if mask.shape != (h, w) and mask_path is not None and mask_path.is_file():
            mask = _fit_mask(mask, (w, h), f"the mask {mask_path.name}")
        if not mask.any():
            raise SegflowError(f"{mask_path} marks no object (all background); paint the object(s) with non-zero ids")
        if done is not None:
            mask = done.pop(0)  # the first frame's mask as the interrupted run wrote it (prompts included)
        else:
            check_output_folder(out, overwrite=overwrite, inputs=(video,) if boxes or points else (video, mask_path))
        if not points:
            session = create_session(**session_kw)
        created = not out.exists()
        _check_writable(out)
    except BaseException:
        source.close()
        raise
    try:
        if overwrite:
            remove_previous_outputs(out)
        if done is None:
            _write_partial(out, first=start, written=0, reason="running", run=run)  # stays if killed outright
        from ..io import ids_present

        writer = OutputWriter(out, fps=source.fps, size=(w, h), save_flow=save_flow, alpha=alpha, first_index=start,
                              flow_video=flow_video,
                              formats=formats, object_ids=ids_present(mask),
                              info={"description": "segflow segment", "video": str(video), "first_frame": start})
    except BaseException:
        source.close()
        _left_behind(out, start, 0, created, interrupted=False)  # nothing written: leave nothing
        raise
    return _run(session, source, mask, writer, out=out, start=start, created=created, progress=progress, later=later,
                finetune_steps=finetune_steps, queue_frames=queue_frames, replay=done, stats=stats)


def _run(session, source, mask, writer, *, out: Path, start: int, created: bool, progress: bool, later=None,
         finetune_steps: int, queue_frames: int, replay: dict | None = None, stats: dict | None = None) -> str:
    """``replay``: an interrupted run's masks {index: ids} to resume from (see VideoSession.resume)."""
    w, h = source.size
    reader = _Reader(source, queue_frames)
    sink = _Writer(writer, queue_frames)
    pending: dict[int, object] = {}  # frames handed to the session, by position, until their result comes

    def frames():
        for i, f in enumerate(reader.frames()):
            pending[i] = f
            yield f

    t0, ok = time.perf_counter(), False
    bar = _progress(progress, source.num_frames)
    try:
        reader.start()
        sink.start()
        with bar:
            task = bar.add_task("segment", total=source.num_frames, fps=0.0)
            done = 0
            results = (session.propagate(frames(), first_mask=mask, masks=later) if replay is None else
                       session.resume(frames(), first_mask=mask, done=replay, masks=later))
            for res in results:
                frame = pending.pop(res.index)
                for k in [k for k in pending if k < res.index]:  # results the session never gave
                    del pending[k]
                sink.put((frame, res))
                if sink.written != done:
                    done = sink.written
                    bar.update(task, completed=done, fps=_rate(done, t0, session.finetune_seconds))
            sink.finish()
            writer.close(ok=True)
            ok = True
            n, ft, t_end = sink.written, session.finetune_seconds, time.perf_counter()
            fps = _rate(n, t0, ft, t_end)
            bar.update(task, completed=n, total=n, fps=fps)  # the bar ends on the summary's figure
    except KeyboardInterrupt:
        _stop(reader, sink, writer, source, drain=True)
        raise _left_behind(out, start, sink.written, created, interrupted=True) from None
    except SegflowError as exc:
        _stop(reader, sink, writer, source, drain=False)
        if sink.written == 0:
            _left_behind(out, start, 0, created, interrupted=False)
            raise
        msg = str(_left_behind(out, start, sink.written, created, interrupted=False))
        raise SegflowError(f"{exc}; {msg}") from None
    except BaseException:
        _stop(reader, sink, writer, source, drain=False)
        _left_behind(out, start, sink.written, created, interrupted=False)
        raise
    finally:
        if ok:
            reader.stop.set()
            source.close()
    (out / PARTIAL).unlink(missing_ok=True)
    dt = t_end - t0 - ft
    if stats is not None:
        stats.update(frames=n, seconds=dt, fps=fps)
    tail = f", plus {ft:.1f} s fine-tuning ({finetune_steps} steps)" if finetune_steps else ""
    if replay is not None:
        tail += f"; resumed after frame {start + len(replay)}, {len(replay) + 1} earlier frames kept"

    cuts = [start + c for c in getattr(session, "cuts", [])]
    if cuts:
        shown = ", ".join(str(c) for c in cuts[:8]) + (", ..." if len(cuts) > 8 else "")
        tail += f"; {len(cuts)} scene cut{'s' if len(cuts) > 1 else ''} before frame{'s' if len(cuts) > 1 else ''} {shown}"
    return f"{n} frames {w}x{h} in {dt:.1f} s ({fps:.1f} frames/s{tail}) -> {out}{os.sep}"


def _stop(reader: _Reader, sink: _Writer, writer, source, *, drain: bool) -> None:
    """Stop decoding; let the writer finish what it holds (``drain``; a second Ctrl-C cuts it
    short) or stop it now; discard the unfinished videos."""
    reader.stop.set()
    try:
        if drain and sink.error is None:
            try:
                sink.finish()
            except KeyboardInterrupt:
                sink.stop_now()
            except Exception:  # noqa: BLE001 - the interruption is what gets reported
                pass
        else:
            sink.stop_now()
    finally:
        try:
            writer.close(ok=False)
        finally:
            if reader.ident is not None:  # started: it stops after the frame it is decoding
                reader.join(timeout=2.0)
            source.close()


def _left_behind(out: Path, start: int, written: int, created: bool, *, interrupted: bool) -> SegmentInterrupted:
    """Mark a run that did not finish: OUT/.partial naming the last frame, or nothing at all when
    no frame was written. Returns the interruption carrying the one-line account."""
    if written:
        last = start + written - 1
        # A frame whose writing was cut short may have its mask without its video frames: drop it,
        # so the masks are exactly frames start..last (the folder held no other masks: see check_output_folder).
        for folder in _frame_folders(out):
            for p in folder.iterdir():
                if p.suffix in (".png", ".flo") and p.stem.isdigit() and int(p.stem) > last:
                    p.unlink(missing_ok=True)
        _write_partial(out, first=start, written=written, reason="interrupted" if interrupted else "error")
        msg = (f"interrupted after frame {last}; partial result in {out} ({out / PARTIAL} marks it)" if interrupted
               else f"frames {start}..{last} are in {out} ({out / PARTIAL} marks the partial result)")
        return SegmentInterrupted(msg, out=out, last_frame=last)
    (out / PARTIAL).unlink(missing_ok=True)
    for folder in [*_frame_folders(out), out / "objects"]:
        try:
            folder.rmdir()  # empty: this run made it
        except OSError:
            pass
    if created:
        try:
            out.rmdir()
        except OSError:
            pass
    return SegmentInterrupted(f"interrupted before the first frame was written; nothing left in {out}",
                              out=out, last_frame=None)


def _frame_folders(out: Path) -> list[Path]:
    """The folders of per-frame files a run writes: masks/, rgba/, flow/, objects/<id>/ (those that exist)."""
    from .outputs import FRAME_FOLDERS

    folders = [out / name for name in FRAME_FOLDERS if (out / name).is_dir()]
    if (out / "objects").is_dir():
        folders += sorted(p for p in (out / "objects").iterdir() if p.is_dir() and p.name.isdigit())
    return folders


def _progress(enabled: bool, total):
    """The progress bar, on stderr (stdout carries only the summary line)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("segment"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[fps]:.1f} frames/s"),
                    TimeRemainingColumn(), disable=not enabled, transient=False, console=Console(stderr=True))


# --- batches -----------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N) with 0 <= K < N: this machine takes every N-th video from the K-th (0-based)."""
    try:
        k, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise ArgumentError("shard", text, "expected K/N, e.g. 0/4 (the K-th of N shards, K from 0)") from None
    if n < 1 or not 0 <= k < n:
        raise ArgumentError("shard", text, f"K must be in 0..N-1 and N at least 1 (got K={k}, N={n})",
                            fix="e.g. 0/4 .. 3/4 for four shards")
    return k, n


def video_stem(video) -> str:
    """The name of a video's output folder and mask: a file's stem, a folder's name, a glob's folder."""
    text = str(video)
    path = Path(text)
    if path.is_dir():
        return path.resolve().name or "video"
    if any(c in text for c in "*?[") and not path.exists():
        parent = path.parent
        while any(c in str(parent.name) for c in "*?["):
            parent = parent.parent
        return (parent.resolve().name if str(parent) not in ("", ".") else Path.cwd().name) or "video"
    return path.stem


def find_mask(mask_dir: Path, stem: str) -> Path:
    """MASKS/<stem>/ (masks named by frame number) if it exists, else MASKS/<stem>.png."""
    folder, file = Path(mask_dir) / stem, Path(mask_dir) / f"{stem}.png"
    if folder.is_dir():
        return folder
    if file.is_file():
        return file
    raise SegflowError(f"no mask for {stem}: expected {file} or a folder {folder}{os.sep} of masks named by frame number")


class BatchResult:
    """One video of a batch: ``summary`` (the one-line summary) when it worked, else ``error``."""

    def __init__(self, video, stem: str, out: Path, summary: str | None = None, error: BaseException | None = None):
        self.video, self.stem, self.out, self.summary, self.error = video, stem, out, summary, error

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self, *, cli: bool = False) -> str:
        """One line for this video: its summary, or what went wrong."""
        if self.ok:
            return f"{self.stem}: {self.summary}"
        exc = self.error
        if isinstance(exc, SegflowError):
            text = exc.for_cli() if cli else str(exc)
        else:  # an unexpected failure: its type and first line, the others go on
            text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}".rstrip(": ")
        return f"{self.stem}: {' '.join(text.split())}"


def plan_batch(videos, mask_dir, out, *, shard: tuple[int, int] = (0, 1)) -> list[tuple[str, str, Path]]:
    """[(video, stem, OUT/stem)] for this shard; SegflowError for a bad mask folder or clashing stems."""
    mask_dir, out = Path(mask_dir), Path(out)
    if not mask_dir.is_dir():
        raise ArgumentError("mask_dir", str(mask_dir), "is not a folder",
                            fix="give the folder holding <video stem>.png or <video stem>/ for each video")
    k, n = shard
    if n < 1 or not 0 <= k < n:
        raise ArgumentError("shard", f"{k}/{n}", "K must be in 0..N-1 and N at least 1")
    videos = [str(v) for v in videos]
    if not videos:
        raise SegflowError("no videos given")
    stems = [video_stem(v) for v in videos]
    seen: dict[str, str] = {}
    for v, s in zip(videos, stems):
        if s in seen:
            raise SegflowError(f"{seen[s]} and {v} would both write to {out / s}; rename one (outputs and masks go by stem)")
        seen[s] = v
    return [(v, s, out / s) for v, s in list(zip(videos, stems))[k::n]]


def segment_batch(videos, mask_dir, out, *, shard: tuple[int, int] = (0, 1), model=None, **options):
    """Segment several videos with one network, yielding a :class:`BatchResult` per video as it ends.

    Each video writes OUT/<stem>/ from the mask MASKS/<stem>.png or the folder MASKS/<stem>/ (see
    :func:`find_mask`); ``shard`` (K, N) keeps every N-th video from the K-th. A video that fails is
    reported in its result and the others go on; Ctrl-C stops the batch (``SegmentInterrupted``).
    ``options``: as :func:`segment_video` (``method``, ``weights``, ``formats``, ...)."""
    jobs = plan_batch(videos, mask_dir, out, shard=shard)
    if not jobs:
        return
    options.pop("boxes", None)
    options.pop("points", None)
    method = options.get("method", SEGMENT_DEFAULT)
    check_max_size(options.get("max_size", SEGMENT_MAX_SIZE))
    if "formats" in options:
        from .outputs import check_formats

        options["formats"] = check_formats(options["formats"])
    if model is None and method in ("segflow", "propagate"):
        from ..weights import load_model

        model, _, _ = load_model(options.get("weights", "segflow-lite"))  # once for the whole batch
    for video, stem, dest in jobs:
        try:
            summary = segment_video(video, find_mask(mask_dir, stem), dest, model=model, **options)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - reported in one line; the other videos go on
            yield BatchResult(video, stem, dest, error=exc)
            continue
        yield BatchResult(video, stem, dest, summary=summary)
