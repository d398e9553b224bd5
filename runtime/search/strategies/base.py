"""The ask/tell contract every search strategy keeps, and what they share.

Why ask/tell: the strategy only decides which configs to try next; who
evaluates them (this process, Ray actors, a synthetic objective in a test)
and when is the driver's business. Why deterministic: a strategy is a pure
function of its seed and of the results told so far, so a killed search is
resumed by replaying its own trial log -- asking again gives the same
configs, telling the logged results restores the state -- with nothing of the
strategy's internals saved anywhere.

Every strategy proposes configs that satisfy the limits (the file's
constraints and the command line's), found by uniform draws and, when the
limits admit few configs, repair walks (`Feasibility`), never by unbounded
rejection. Configs are compared by their canonical key (`config_key`): two
configs that differ only in choices with no effect on the network (the inner
choices of a skipped block) are one architecture, evaluated once.
"""

from __future__ import annotations

import hashlib
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archc.compiler.space.config import Config

FRESH_TRIES = 50  # draws or mutations tried for a config not proposed before


class SearchError(ValueError):
    """A search that cannot start or continue; the message is complete for the user."""


@dataclass(frozen=True)
class Trial:
    """A config and what was measured of it: the objective and the costs."""

    config: Config
    score: float  # the objective to maximise (validation AP, or minus the loss)
    costs: Mapping[str, float] = field(default_factory=dict)  # macs, params, latency_ms


def config_key(space: Any, config: Mapping[str, Any]) -> str:
    """A short stable hash of the architecture a config selects: of its canonical form
    when the space knows one (inactive choices fixed), else of its values."""
    canonical = getattr(space, "canonical", None)
    if canonical is not None:
        config = canonical(config)
    text = json.dumps(dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Feasibility:
    """Draws configs within limits: uniform draws, then repair walks (`Sampler`)."""

    def __init__(self, space: Any, sampler: Any):
        self.space = space
        self.sampler = sampler

    def feasible(self, config: Mapping[str, Any]) -> bool:
        return not self.sampler.excess(config)

    def draw(self, rng: random.Random) -> Config:
        config = self.sampler(rng)
        if config is None:
            raise SearchError(
                f"no config of `{self.space.name}` within the limits was found; "
                "the limits may admit no config (see `archc info` for the cost range)"
            )
        return config

    def repair(self, config: Config, rng: random.Random) -> Config | None:
        """`config` if it is feasible, else a repair walk from it (None if that fails)."""
        if self.feasible(config):
            return config
        return self.sampler.walk(config, rng)


class Strategy(ABC):
    """Proposes configs (`ask`) and learns from their results (`tell`)."""

    name = "strategy"

    def __init__(self, space: Any, feasibility: Feasibility, seed: int):
        self.space = space
        self.feasibility = feasibility
        self.rng = random.Random(seed)
        self.proposed: set[str] = set()

    def key(self, config: Mapping[str, Any]) -> str:
        return config_key(self.space, config)

    @abstractmethod
    def ask(self, n: int) -> list[Config]:
        """`n` configs to evaluate next, all within the limits."""

    @abstractmethod
    def tell(self, trials: Sequence[Trial]) -> None:
        """The results of the last `ask`, in its order."""

    def fresh(self, make: Callable[[], Config | None]) -> Config:
        """A config from `make` not proposed before (up to `FRESH_TRIES` attempts; after
        that a repeat, which the driver answers from its log without evaluating)."""
        config = None
        for _ in range(FRESH_TRIES):
            candidate = make()
            if candidate is None:
                continue
            config = candidate
            if self.key(candidate) not in self.proposed:
                break
        if config is None:
            config = self.feasibility.draw(self.rng)
        self.proposed.add(self.key(config))
        return config


def better(a: Trial, b: Trial, cost: str = "macs") -> bool:
    """`a` beats `b`: a higher score, or the same score at a lower cost."""
    if a.score != b.score:
        return a.score > b.score
    return a.costs.get(cost, 0) < b.costs.get(cost, 0)
