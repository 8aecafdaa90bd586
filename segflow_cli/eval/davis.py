"""DAVIS semi-supervised evaluation: sequences and annotations (the tree as data/layouts.py lays it
out), per-object J / F / T and the official summary.

Protocol (davis2017-evaluation): the first and last frames are excluded; each object of the
first-frame annotation is scored on frames 1..N-2; statistics are per object; global figures are
means over objects and J&F = (J-Mean + F-Mean) / 2. DAVIS 2016 masks are binarised (one object);
in 2017 masks the value 255 counts as background, as the toolkit does. T (DAVIS 2016 toolkit) is
scored on consecutive *predicted* masks among frames 1..N-2; its global mean covers only the
sequences the 2016 benchmark flags ``eval_t`` (all other sequences are scored but not averaged).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..data.layouts import davis_annotations, davis_image_set, davis_objects, read_image_set
from ..errors import ArgumentError, SegflowError
from .davis_metrics import boundary_f, db_statistics, region_similarity
from .t_stability import temporal_stability

# DAVIS 2016 sequences whose db_info.yml entry has eval_t: false (occlusions make T meaningless).
NO_EVAL_T_2016 = frozenset((
    "bmx-bumps bmx-trees breakdance breakdance-flare dance-twirl dog dog-agility drift-chicane goat "
    "horsejump-high horsejump-low libby lucia mallard-fly motocross-jump motorbike paragliding parkour "
    "rollerblade scooter-gray soccerball swing tennis").split())
YEARS, SPLITS = ("2016", "2017"), ("train", "val", "all")


@dataclass(frozen=True)
class ObjectScores:
    """One object of one sequence. J, F: (N-2,) float64 for frames 1..N-2; T: (N-3,) float64 for the
    predicted-mask pairs (1,2)..(N-3,N-2) (scaled as published, NaN where a mask is empty) or None."""

    sequence: str
    object_id: int
    n_objects: int
    J: np.ndarray
    F: np.ndarray
    T: np.ndarray | None
    eval_t: bool = True

    @property
    def name(self) -> str:
        """The official per-sequence row name: the sequence, or ``seq_k`` when it has several objects."""
        return self.sequence if self.n_objects == 1 else f"{self.sequence}_{self.object_id}"

    @property
    def t_mean(self) -> float:
        if self.T is None or not np.isfinite(self.T).any():
            return float("nan")
        return float(np.nanmean(self.T))


def sequence_names(root: Path, *, year: str, split: str, sequences: Sequence[str] | None = None) -> list[str]:
    """Sequences to evaluate: ``sequences`` if given, else ImageSets/<year>/<split>.txt (all = train + val)."""
    if year not in YEARS:
        raise ArgumentError("year", year, "choose 2016 or 2017")
    if split not in SPLITS:
        raise ArgumentError("split", split, "choose train, val or all")
    ann = davis_annotations(root)
    if not ann.is_dir():
        raise ArgumentError("root", root, "not a DAVIS folder (no Annotations/480p)",
                            fix="give the folder holding JPEGImages/ and Annotations/")
    if sequences:
        names = list(dict.fromkeys(sequences))
    else:
        names = []
        for part in ("train", "val") if split == "all" else (split,):
            f = davis_image_set(root, year, part)
            if not f.is_file():
                raise SegflowError(f"{f} is missing; pass sequences=[...] or use the DAVIS {year} ImageSets",
                                   cli=f"{f} is missing; pass --sequences a,b,... or use the DAVIS {year} ImageSets")
            names += read_image_set(f)
        names = list(dict.fromkeys(names))
    missing = [s for s in names if not (ann / s).is_dir()]
    if missing:
        msg = f"no annotations for sequence(s) {', '.join(missing)} in {ann}"
        raise SegflowError(f"{msg}; check sequences/split", cli=f"{msg}; check --sequences/--split")
    return names


def annotation_files(root: Path, sequence: str) -> list[Path]:
    files = sorted(davis_annotations(root, sequence).glob("*.png"))
    if len(files) < 3:
        raise SegflowError(f"{sequence} has {len(files)} annotated frames; the protocol needs at least 3")
    return files


def score_sequence(sequence: str, gt: Sequence[np.ndarray], pred: Sequence[np.ndarray], *, year: str,
                   with_t: bool = True) -> list[ObjectScores]:
    """Score one sequence. gt, pred: the N masks of all frames ((H, W) ids; frame 0 and N-1 are ignored)."""
    if len(gt) != len(pred):
        raise SegflowError(f"{sequence}: {len(pred)} predicted frames for {len(gt)} annotated frames")
    gts = [davis_objects(g, year) for g in gt]
    preds = [(p > 0).astype(np.uint8) if year == "2016" else np.asarray(p) for p in pred]
    n_obj = int(gts[0].max())
    if n_obj == 0:
        raise SegflowError(f"{sequence}: the first annotation marks no object")
    inner = range(1, len(gts) - 1)
    n_pred = max(int(preds[i].max()) for i in inner)
    if n_pred > n_obj:
        raise SegflowError(f"{sequence}: predictions hold object id {n_pred} but the annotation has {n_obj} "
                           "object(s); ids must match the first-frame annotation")
    for i in inner:
        if preds[i].shape != gts[i].shape:
            raise SegflowError(f"{sequence} frame {i}: prediction is {preds[i].shape[1]}x{preds[i].shape[0]}, "
                               f"annotation {gts[i].shape[1]}x{gts[i].shape[0]}; write masks at the annotation size")
    out = []
    eval_t = not (year == "2016" and sequence in NO_EVAL_T_2016)
    for k in range(1, n_obj + 1):
        j = np.array([region_similarity(gts[i] == k, preds[i] == k) for i in inner])
        f = np.array([boundary_f(gts[i] == k, preds[i] == k) for i in inner])
        t = None
        if with_t:
            t = np.array([temporal_stability(preds[i] == k, preds[i + 1] == k) for i in list(inner)[:-1]])
        out.append(ObjectScores(sequence, k, n_obj, j, f, t, eval_t))
    return out


def summarize(objects: Sequence[ObjectScores]) -> dict[str, float]:
    """Global figures in the toolkit's names (fractions): J&F-Mean, J-/F- Mean/Recall/Decay, T-Mean
    (over eval_t objects) and T-Mean-all (over every object with a T)."""
    js = np.array([db_statistics(o.J) for o in objects])
    fs = np.array([db_statistics(o.F) for o in objects])
    out = {"J&F-Mean": (js[:, 0].mean() + fs[:, 0].mean()) / 2}
    for name, s in (("J", js), ("F", fs)):
        out.update({f"{name}-Mean": s[:, 0].mean(), f"{name}-Recall": s[:, 1].mean(), f"{name}-Decay": s[:, 2].mean()})
    ts = np.array([o.t_mean for o in objects if o.T is not None and o.eval_t])
    alls = np.array([o.t_mean for o in objects if o.T is not None])
    out["T-Mean"] = float(np.nanmean(ts)) if np.isfinite(ts).any() else float("nan")
    out["T-Mean-all"] = float(np.nanmean(alls)) if np.isfinite(alls).any() else float("nan")
    return {k: float(v) for k, v in out.items()}


def parse_groups(specs: Sequence[str], names: Sequence[str]) -> dict[str, list[str]]:
    """``["tuning=blackswan,dog", ...]`` -> {"tuning": ["blackswan", "dog"], ...}: named subsets of the
    evaluated sequences ``names`` whose figures are reported beside the global ones (a tuning set and a
    held-out set, say). Checked before anything runs."""
    groups: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, seqs = spec.partition("=")
        members = list(dict.fromkeys(x.strip() for x in seqs.split(",") if x.strip()))
        if not sep or not name.strip() or not members:
            raise ArgumentError("group", spec, "expected NAME=seq1,seq2", fix="e.g. tuning=blackswan,dog")
        unknown = [m for m in members if m not in names]
        if unknown:
            raise ArgumentError("group", spec, f"{', '.join(unknown)} not among the evaluated sequences",
                                fix="name sequences of the split or of sequences=[...]",
                                cli_fix="name sequences of --split or of --sequences")
        if name.strip() in groups:
            raise ArgumentError("group", spec, f"the group {name.strip()!r} is given twice")
        groups[name.strip()] = members
    return groups


def group_summaries(objects: Sequence[ObjectScores], groups: dict[str, list[str]]) -> dict[str, dict]:
    """{group: summarize(its objects) plus its "sequences"}: the global figures over each named subset,
    computed as the toolkit computes the global ones (means over objects)."""
    return {g: {"sequences": list(seqs), **summarize([o for o in objects if o.sequence in seqs])}
            for g, seqs in groups.items()}


def evaluate_folder(root: Path, predictions: Path, *, year: str, sequences: Sequence[str], with_t: bool = True,
                    read: Callable[[Path], np.ndarray] | None = None,
                    on_sequence: Callable[[str], None] | None = None) -> list[ObjectScores]:
    """Score a results folder in DAVIS layout (predictions/<seq>/<frame>.png, any method's) like the
    official toolkit's results path. A missing frame counts as an empty mask, as in the toolkit."""
    if read is None:
        from ..io.masks import read_mask as read
    out = []
    for seq in sequences:
        if not (predictions / seq).is_dir():
            raise SegflowError(f"no predictions for {seq} in {predictions}; expected {predictions / seq}/00000.png ...")
        files = annotation_files(root, seq)
        gt = [read(f) for f in files]
        pred = [read(predictions / seq / f.name) if (predictions / seq / f.name).is_file() else np.zeros_like(g)
                for f, g in zip(files, gt)]
        out += score_sequence(seq, gt, pred, year=year, with_t=with_t)
        if on_sequence is not None:
            on_sequence(seq)
    return out
