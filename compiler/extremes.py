"""Exact smallest and largest cost over all valid configs, by variable elimination.

The cost model is a sum of tables, each over a few choices (`CostModel.tables`);
dependent domains add validity factors (a group count must divide its width).
Minimising such a sum over all configs is a min-sum problem on a graph of
choices that is nearly a chain of stages, so eliminating one choice at a time
(always the one whose factors span the fewest combinations) is exact and fast,
where enumerating 10^16 configs is not. Maximising is minimising the negation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from archc.compiler.cost_model import CostModel
from archc.compiler.decide import possible_values
from archc.dsl.program import ChoiceSpec
from archc.dsl.symbolic import deps_of, evaluate

Factor = tuple[tuple[str, ...], dict[tuple, float]]
MAX_FACTOR = 2_000_000  # combinations of one intermediate factor before giving up


class TooLarge(Exception):
    """Elimination would build a factor too large to hold; callers fall back to bounds."""


def cost_extremes(
    model: CostModel, choices: Mapping[str, ChoiceSpec], metric: str
) -> tuple[int, int]:
    """(min, max) of `metric` ("params" or "macs") over all valid configs."""
    if model.direct:
        raise TooLarge("some cost terms are evaluated directly")
    if metric == "params" and model.shared:
        raise TooLarge("shared weights' params are joined per call, not tabulated")
    index = ("params", "macs").index(metric)
    values = {name: possible_values(spec, choices) for name, spec in choices.items()}
    validity = [_validity(spec, choices, values) for spec in choices.values() if spec.dependent]
    constant = (model.constant.params, model.constant.macs)[index]
    out = []
    for sign in (1, -1):
        factors = [
            (names, {k: sign * v[index] for k, v in t.items()}) for names, t in model.tables
        ] + validity
        out.append(int(constant + sign * _minimise(factors, values)))
    return out[0], out[1]


def _validity(spec: ChoiceSpec, choices, values) -> Factor:
    """0 where the child's value is in the domain its parents give, +inf elsewhere."""
    parents = tuple(sorted(deps_of(spec.domain)))
    names = (*parents, spec.name)
    table = {}
    for combo in itertools.product(*(values[p] for p in parents)):
        domain = evaluate(spec.domain, dict(zip(parents, combo, strict=True)))
        for v in values[spec.name]:
            table[(*combo, v)] = 0.0 if v in domain else math.inf
    return names, table


def _minimise(factors: list[Factor], values: Mapping[str, tuple]) -> float:
    factors = list(factors)
    remaining = {n for names, _ in factors for n in names}
    while remaining:
        var = min(remaining, key=lambda v: _scope_size(v, factors, values))
        touching = [f for f in factors if var in f[0]]
        factors = [f for f in factors if var not in f[0]]
        factors.append(_eliminate(var, touching, values))
        remaining.discard(var)
    return sum(table[()] for _, table in factors)


def _scope_size(var: str, factors: list[Factor], values) -> int:
    names = {n for f in factors if var in f[0] for n in f[0]}
    return math.prod(len(values[n]) for n in names)


def _eliminate(var: str, factors: list[Factor], values) -> Factor:
    names = tuple(sorted({n for f in factors for n in f[0]} - {var}))
    if math.prod(len(values[n]) for n in names) * len(values[var]) > MAX_FACTOR:
        raise TooLarge(f"eliminating `{var}` needs a factor over {len(names)} choices")
    table: dict[tuple, float] = {}
    for combo in itertools.product(*(values[n] for n in names)):
        assign: dict[str, Any] = dict(zip(names, combo, strict=True))
        best = math.inf
        for v in values[var]:
            assign[var] = v
            total = sum(t[tuple(assign[n] for n in fn)] for fn, t in factors)
            best = min(best, total)
        table[combo] = best
    return names, table
