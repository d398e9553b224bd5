"""Annealing the Gumbel-softmax temperature of a supernet's `gumbel` choices.

A high temperature makes the relaxed one-hot samples nearly uniform (every
candidate trains); a low one makes them nearly one-hot (the supernet computes
close to what the derived subnet will). AutoPose and GDAS-style searches anneal
from one to the other over training; the schedule is a pure function of the
step so a resumed run continues on the same curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("exponential", "linear", "cosine", "constant")


@dataclass(frozen=True)
class GumbelTemperature:
    """tau(step) from `start` to `end` over `steps` steps, then held at `end`."""

    start: float = 5.0
    end: float = 0.5
    steps: int = 1_000
    kind: str = "exponential"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown temperature schedule {self.kind!r}; expected one of {', '.join(KINDS)}"
            )
        if not (self.start > 0 and self.end > 0):
            raise ValueError(
                f"Gumbel temperatures must be positive (got start={self.start}, end={self.end})"
            )
        if self.steps < 1:
            raise ValueError(f"a temperature schedule needs at least 1 step, got {self.steps}")

    def __call__(self, step: int) -> float:
        t = min(max(step, 0), self.steps) / self.steps
        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            return self.start + (self.end - self.start) * t
        if self.kind == "cosine":
            return self.end + (self.start - self.end) * (1 + math.cos(math.pi * t)) / 2
        return self.start * (self.end / self.start) ** t

    def apply(self, supernet, step: int) -> float:
        """Set `supernet.tau` for `step` and return it."""
        supernet.tau = self(step)
        return supernet.tau
