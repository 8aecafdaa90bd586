"""Run flow methods over the same benchmark pairs and score them with the same metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..errors import SegflowError
from ..data.layouts import FlowPair
from ..inference.methods import FlowFn
from .flow_metrics import PairErrors, flow_errors, summarize_flow


@dataclass
class MethodResult:
    """One method over all pairs: per-pair errors and seconds (in pair order) and the dataset summary."""

    method: str
    pairs: list[str] = field(default_factory=list)
    errors: list[PairErrors] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, float]:
        out = summarize_flow(self.errors)
        out["ms/pair"] = 1000.0 * sum(self.seconds) / len(self.seconds)
        return out

    def group_summaries(self, dataset: str) -> dict[str, dict[str, float]]:
        """The summary per group of pairs (``pair_group``), groups in order of first appearance."""
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(self.pairs):
            groups.setdefault(pair_group(p, dataset), []).append(i)
        out = {}
        for g, idx in groups.items():
            out[g] = summarize_flow([self.errors[i] for i in idx])
            out[g]["ms/pair"] = 1000.0 * sum(self.seconds[i] for i in idx) / len(idx)
            out[g]["pairs"] = len(idx)
        return out


def pair_group(name: str, dataset: str) -> str:
    """The group a pair is reported in: the Sintel pass (``sintel-clean`` / ``sintel-final``, from a
    ``clean``/``final`` path part or a ``clean_``/``final_`` prefix), else the first folder of its name
    (the folder layout's <root>/<group>/<pair>), else the dataset."""
    parts = name.split("/")
    for part in parts:
        low = part.lower()
        for pass_ in ("clean", "final"):
            if low == pass_ or low.startswith(pass_ + "_"):
                return f"sintel-{pass_}"
    return parts[0] if len(parts) > 1 else dataset


def run_flow_benchmark(pairs: Sequence[FlowPair], methods: dict[str, FlowFn], *, warmup: bool = True,
                       on_pair: Callable[[str, str], None] | None = None) -> list[MethodResult]:
    """Every method on every pair (images read once per pair). With ``warmup`` each method first runs
    once on the first pair untimed, so one-off start-up costs (allocation, kernel choice) are not timed.
    Every call starts without the frames an earlier call kept (``forget_cached_frames``): each method is
    timed as one `segflow flow` call on the pair, not helped by another method's (or its warm-up's)
    encoder passes over the same two frames."""
    from ..inference.methods import forget_cached_frames
    from ..io import read_image

    results = {name: MethodResult(name) for name in methods}
    warmed: set[str] = set()
    for pair in pairs:
        img1, img2 = read_image(pair.image1), read_image(pair.image2)
        truth, valid = pair.truth()
        if img1.shape != img2.shape or img1.shape[:2] != truth.shape[:2]:
            raise SegflowError(f"{pair.name}: frames {img1.shape[1]}x{img1.shape[0]} / {img2.shape[1]}x{img2.shape[0]} "
                               f"and flow {truth.shape[1]}x{truth.shape[0]} differ in size")
        for name, fn in methods.items():
            if warmup and name not in warmed:
                fn(img1, img2)
                warmed.add(name)
            forget_cached_frames()
            t0 = time.perf_counter()
            flow = fn(img1, img2)
            dt = time.perf_counter() - t0
            res = results[name]
            res.pairs.append(pair.name)
            res.errors.append(flow_errors(flow, truth, valid))
            res.seconds.append(dt)
            if on_pair is not None:
                on_pair(name, pair.name)
    return list(results.values())
