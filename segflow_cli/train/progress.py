"""A rich progress bar for training: loss, phase, samples/s and ETA (silent on ranks > 0)."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class TrainProgress:
    def __init__(self, *, total: int, start: int = 0, enabled: bool = True) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.fields[phase]:>5}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
        ) if enabled else None
        self.total, self.start = total, start

    def __enter__(self):
        if self.enabled:
            self.progress.__enter__()
            self.task = self.progress.add_task("train", total=self.total, completed=self.start, phase="", info="")
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.__exit__(*exc)

    def update(self, step: int, *, phase: str, loss: float, rate: float, **logs: float) -> None:
        if not self.enabled:
            return
        extra = " ".join(f"{k} {v:.3f}" for k, v in logs.items())
        self.progress.update(self.task, completed=step, phase=phase, info=f"loss {loss:.3f} {extra} {rate:.1f} samples/s")
