"""The largest and smallest configs of a space: most and fewest MACs, ties by params.

Why by cost and not per choice: the sandwich rule trains the two ends of the cost
range, and `archc info --largest` should show the network at the top of the range
it prints. A per-choice rule ("the maximum number, the last candidate") is only
a guess for op and input choices: on the DARTS space it gives a 74.2M-MAC network
where the range ends at 127.9M.

Three ways, from exact to best effort, as `Space.cost_range` computes the range:
enumeration for small spaces; variable elimination with back-substitution over
the cost tables (`extremes.extreme_config`); and, when some cost terms are too
large to tabulate, coordinate ascent from the end of the tabulated part of the cost,
sweeping the choices and setting each to its best value given the others until a
sweep changes nothing (the result is then the best found, and `exact` says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archc.compiler.cost.extremes import TooLarge, extreme_config
from archc.compiler.space.config import Config, ConfigError

if TYPE_CHECKING:
    from archc.compiler.space.space import Space

MAX_SWEEPS = 10  # coordinate sweeps before the climb stops


@dataclass(frozen=True)
class End:
    """A config at one end of the cost range, and whether it provably is the end."""

    config: Config
    exact: bool


def find_end(space: Space, which: str, enumerate_below: int) -> End:
    """The "largest" or "smallest" config of `space` (see the module docstring)."""
    sign = {"largest": -1, "smallest": 1}[which]
    model = space.cost_model()

    def key(config) -> tuple[int, int]:
        cost = model(config)
        return sign * cost.macs, sign * cost.params

    if space.size() <= enumerate_below:
        configs = space.table.configs()
        if which == "largest":  # ties go to the later config, as the per-choice rule would
            configs = reversed(list(configs))
        return End(min(configs, key=key), True)
    try:
        fixed = extreme_config(model, model.choices, which)
    except TooLarge:
        start = space.table.complete(extreme_config(model, model.choices, which, True), which)
        return End(_climb(space, start, key), False)
    return End(space.table.complete(fixed, which), True)


def _climb(space: Space, config: Config, key: Callable[[Any], tuple]) -> Config:
    """Coordinate descent on `key`: each choice in turn at its best valid value given
    the others, until a sweep changes nothing."""
    best, best_key = config, key(config)
    for _ in range(MAX_SWEEPS):
        moved = False
        for choice in space.table.choices:
            for value in space.table.domain_of(choice.name, best):
                if value == best[choice.name]:
                    continue
                try:
                    candidate = space.table.validate({**best, choice.name: value})
                except ConfigError:
                    continue
                k = key(candidate)
                if k < best_key:
                    best, best_key, moved = candidate, k, True
        if not moved:
            break
    return best
