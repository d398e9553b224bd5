"""Search strategies over configs: ask/tell, torch-free, deterministic in their seed and
the results told (base.py says why).

- random_search: uniform within the limits (the baseline);
- evolution: regularised (aging) evolution with tournaments, mutation and crossover;
- nsga2: the accuracy-cost front with pymoo's NSGA-II.

`make_strategy(name, space, feasibility, seed, **options)` builds one by name.
"""

from __future__ import annotations

import inspect
from typing import Any

from archc.kernel.diagnostics import suggest
from archc.runtime.search.strategies.base import (
    Feasibility,
    SearchError,
    Strategy,
    Trial,
    config_key,
)
from archc.runtime.search.strategies.evolution import Evolution
from archc.runtime.search.strategies.random_search import RandomSearch


def _nsga2() -> type[Strategy]:
    from archc.runtime.search.strategies.nsga2 import NSGA2  # pymoo is imported on use

    return NSGA2


STRATEGIES = {"random": lambda: RandomSearch, "evolution": lambda: Evolution, "nsga2": _nsga2}


def make_strategy(
    name: str, space: Any, feasibility: Feasibility, seed: int, **options: Any
) -> Strategy:
    """The strategy called `name`; options it does not take are an error."""
    if name not in STRATEGIES:
        hint = suggest(name, STRATEGIES)
        raise SearchError(
            f"unknown strategy `{name}`; known: {', '.join(STRATEGIES)}"
            + (f" ({hint})" if hint else "")
        )
    cls = STRATEGIES[name]()
    try:
        inspect.signature(cls).bind(space, feasibility, seed, **options)
    except TypeError as err:
        raise SearchError(f"strategy `{name}`: {err}") from None
    return cls(space, feasibility, seed, **options)


__all__ = [
    "STRATEGIES",
    "Evolution",
    "Feasibility",
    "RandomSearch",
    "SearchError",
    "Strategy",
    "Trial",
    "config_key",
    "make_strategy",
]
