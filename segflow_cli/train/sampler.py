"""A distributed batch sampler over an endless, seed-addressed sample stream.

Rank r's batch at step s holds stream indices (s * world + r) * B ... + B - 1: ranks never overlap
(what DistributedSampler guarantees for finite sets) and a resumed run continues with exactly the
samples it would have seen, because the stream position is a function of the step alone.
"""

from __future__ import annotations

from torch.utils.data import Sampler


class StepBatchSampler(Sampler[list[int]]):
    def __init__(self, *, start_step: int, steps: int, batch_size: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.steps, self.b, self.rank, self.world = start_step, steps, batch_size, rank, world

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def __iter__(self):
        for s in range(self.start, self.steps):
            base = (s * self.world + self.rank) * self.b
            yield list(range(base, base + self.b))
