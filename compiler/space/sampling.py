"""Random configs within cost limits: uniform draws first, then repair walks.

Uniform sampling and filtering is the unbiased way and is tried first. It
fails when the limits admit a tiny fraction of the space: three ViPNAS
temporal frames under the paper's 850M-MAC budget are met by about one
uniform draw in 10^8. Then a *repair walk* starts from a uniform draw and
mutates one choice at a time (`ChoiceTable.mutate`, which keeps dependent
domains valid), keeping a mutant when it breaks the limits by less (the sum of
each broken limit's relative excess), until none is broken. The walk ends near
the limits' boundary, which is where a budgeted search wants its population;
it is not uniform over the valid configs, and the docs say so.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archc.compiler.cost.latency_table import LatencyTable, as_table
from archc.compiler.space.config import Config

if TYPE_CHECKING:
    from archc.compiler.space.space import Space

DRAWS = 50  # uniform draws before repair walks
WALKS = 10  # repair walks (each from a fresh draw) before giving up
STEPS = 3_000  # mutants tried per walk
PATIENCE = 300  # a walk ends early after this many mutants in a row that do not help


@dataclass(frozen=True)
class Limit:
    """One bound on a metric: the file's `constraint`s and the command line's."""

    metric: str  # macs, params or latency
    op: str  # <=, <, >= or >
    bound: float
    scope: str | None = None

    def excess(self, value: float) -> float:
        """How far `value` breaks the limit, relative to the bound (0 if it holds;
        a strict bound met with equality counts as broken by one unit)."""
        gap = value - self.bound if self.op in ("<=", "<") else self.bound - value
        if self.op in ("<", ">") and gap == 0:
            gap = 1
        return max(gap, 0) / (abs(self.bound) or 1.0)


def limits_of(
    space: Space,
    max_macs: float | None = None,
    max_params: float | None = None,
    lut: LatencyTable | None = None,
) -> tuple[Limit, ...]:
    """The file's constraints (latency ones only with a latency table) and the extra
    `max_macs` / `max_params`."""
    out = [
        Limit(c.metric, c.op, c.bound, c.scope)
        for c in space.constraints
        if c.metric != "latency" or lut is not None
    ]
    out += [
        Limit(metric, "<=", bound)
        for metric, bound in (("macs", max_macs), ("params", max_params))
        if bound is not None
    ]
    return tuple(out)


class Sampler:
    """`sampler(rng) -> Config | None`: a config of `space` within `limits`."""

    def __init__(
        self,
        space: Space,
        limits: tuple[Limit, ...],
        lut: LatencyTable | str | os.PathLike | None = None,
    ):
        self.space, self.limits = space, limits
        self.lut = None if lut is None else as_table(lut)
        self.repaired = 0  # configs found by a repair walk, not a uniform draw

    def excess(self, config: Mapping[str, Any]) -> float:
        costs: dict[str | None, Any] = {}  # one cost per scope, whatever limits read it
        return sum(limit.excess(self.value(limit, config, costs)) for limit in self.limits)

    def value(self, limit: Limit, config: Mapping[str, Any], costs: dict) -> float:
        if limit.metric == "latency":
            return self.space.latency_model(self.lut, limit.scope)(config)
        if limit.scope not in costs:
            costs[limit.scope] = self.space.cost_model(scope=limit.scope)(config)
        cost = costs[limit.scope]
        return cost.macs if limit.metric == "macs" else cost.params

    def __call__(self, rng: random.Random) -> Config | None:
        for _ in range(DRAWS):
            config = self.space.sample(rng)
            if not self.excess(config):
                return config
        for _ in range(WALKS):
            config = self.walk(self.space.sample(rng), rng)
            if config is not None:
                self.repaired += 1
                return config
        return None

    def walk(self, config: Config, rng: random.Random) -> Config | None:
        """Mutate `config` toward the limits; None if STEPS mutants do not get there, or
        PATIENCE mutants in a row do not help (a local minimum of the excess)."""
        excess, stuck = self.excess(config), 0
        for _ in range(STEPS):
            if not excess or stuck == PATIENCE:
                break
            mutant = self.space.mutate(config, rng)
            mutant_excess = self.excess(mutant)
            if mutant_excess < excess:
                config, excess, stuck = mutant, mutant_excess, 0
            else:
                stuck += 1
        return config if not excess else None
