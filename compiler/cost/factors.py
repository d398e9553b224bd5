"""Variable elimination over factors on the choices, in any commutative semiring.

Two questions about all configs of a space are sums over exponentially many
assignments of a function that splits into small factors (tables over a few
choices each): the cheapest or costliest config (min over configs of a sum of
cost tables: the min-sum semiring, `extremes`) and the number of distinct
architectures (sum over configs of a product of 0/1 indicators: the sum-product
semiring, `space.architectures`). Eliminating one choice at a time, always the
one whose factors span the fewest combinations, is exact and fast on spaces that
are nearly a chain of stages; a factor too large to hold raises `TooLarge`, and
callers fall back to bounds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Factor = tuple[tuple[str, ...], dict[tuple, Any]]
Trace = list[tuple[str, tuple[str, ...], dict[tuple, Any]]]
MAX_FACTOR = 2_000_000  # combinations of one intermediate factor before giving up


class TooLarge(Exception):
    """Elimination would build a factor too large to hold; callers fall back to bounds."""


@dataclass(frozen=True)
class Semiring:
    """`add` folds over a choice's values, `times` joins the factors of one assignment."""

    add: Callable[[Any, Any], Any]
    zero: Any
    times: Callable[[Iterable[Any]], Any]


MIN_SUM = Semiring(min, math.inf, sum)
SUM_PRODUCT = Semiring(lambda a, b: a + b, 0, math.prod)


def eliminate_all(
    factors: list[Factor], values: Mapping[str, tuple], ring: Semiring, trace: Trace | None = None
) -> Any:
    """The semiring sum over every assignment of the product of `factors`. With `trace`
    (min-sum), appends (choice, neighbours, its first best value per neighbours'
    combination) in elimination order, for `back_substitute`."""
    factors = list(factors)
    remaining = {n for names, _ in factors for n in names}
    while remaining:
        var = min(remaining, key=lambda v: _scope_size(v, factors, values))
        touching = [f for f in factors if var in f[0]]
        factors = [f for f in factors if var not in f[0]]
        names, table, best = _eliminate(var, touching, values, ring, trace is not None)
        factors.append((names, table))
        if trace is not None:
            trace.append((var, names, best))
        remaining.discard(var)
    return ring.times(table[()] for _, table in factors)


def back_substitute(trace: Trace) -> dict[str, Any]:
    """The assignment attaining the optimum that a traced `eliminate_all` found."""
    chosen: dict[str, Any] = {}
    for var, names, best in reversed(trace):
        chosen[var] = best[tuple(chosen[n] for n in names)]
    return chosen


def _scope_size(var: str, factors: list[Factor], values) -> int:
    names = {n for f in factors if var in f[0] for n in f[0]}
    return math.prod(len(values[n]) for n in names)


def _eliminate(
    var: str, factors: list[Factor], values, ring: Semiring, traced: bool
) -> tuple[tuple[str, ...], dict, dict]:
    names = tuple(sorted({n for f in factors for n in f[0]} - {var}))
    if math.prod(len(values[n]) for n in names) * len(values[var]) > MAX_FACTOR:
        raise TooLarge(f"eliminating `{var}` needs a factor over {len(names)} choices")
    table: dict[tuple, Any] = {}
    argbest: dict[tuple, Any] = {}
    for combo in itertools.product(*(values[n] for n in names)):
        assign: dict[str, Any] = dict(zip(names, combo, strict=True))
        acc, arg = ring.zero, values[var][0]
        for v in values[var]:
            assign[var] = v
            joined = ring.add(acc, ring.times(t[tuple(assign[n] for n in fn)] for fn, t in factors))
            if traced and joined != acc:  # min-sum: strictly better
                arg = v
            acc = joined
        table[combo] = acc
        if traced:
            argbest[combo] = arg
    return names, table, argbest
