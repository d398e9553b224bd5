"""Exact smallest and largest cost over all valid configs, by variable elimination.

The cost model is a sum of tables, each over a few choices (`CostModel.tables`);
dependent domains add validity factors (a group count must divide its width).
Minimising such a sum over all configs is a min-sum problem on a graph of
choices that is nearly a chain of stages, so eliminating one choice at a time
(always the one whose factors span the fewest combinations) is exact and fast,
where enumerating 10^16 configs is not. Maximising is minimising the negation.
Recording the best value of each eliminated choice per combination of its
neighbours, and substituting back in reverse order, gives a config that attains
the extreme (`extreme_config`): the sandwich rule's largest and smallest subnets
are the ends of the range `archc info` prints.
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


def extreme_config(
    model: CostModel, choices: Mapping[str, ChoiceSpec], which: str, partial: bool = False
) -> dict[str, Any]:
    """Values of the choices the tabulated cost depends on, at a config with the most
    ("largest") or fewest ("smallest") MACs, ties broken by params (tabulated params:
    weights shared across scopes are not part of the tie-break). Terms evaluated
    directly make it `TooLarge`, or, with `partial`, are left out (a starting point)."""
    if model.direct and not partial:
        raise TooLarge("some cost terms are evaluated directly")
    sign = {"smallest": 1, "largest": -1}[which]
    # ties go to the first value tried: the last candidate for "largest", as the
    # per-choice rule of the choice table would pick
    order = slice(None, None, sign)
    values = {name: possible_values(spec, choices)[order] for name, spec in choices.items()}
    validity = [_validity(spec, choices, values) for spec in choices.values() if spec.dependent]
    # one exact integer per entry orders by MACs, then params (params < 2**48)
    factors = [
        (names, {k: sign * ((m << 48) + p) for k, (p, m) in t.items()}) for names, t in model.tables
    ] + validity
    trace: list[tuple[str, tuple[str, ...], dict]] = []
    _minimise(factors, values, trace)
    chosen: dict[str, Any] = {}
    for var, names, best in reversed(trace):
        chosen[var] = best[tuple(chosen[n] for n in names)]
    return chosen


def _validity(spec: ChoiceSpec, choices, values) -> Factor:
    """0 where the child's value is in the domain its parents give, +inf elsewhere."""
    parents = tuple(sorted(deps_of(spec.domain)))
    names = (*parents, spec.name)
    table = {}
    for combo in itertools.product(*(values[p] for p in parents)):
        domain = evaluate(spec.domain, dict(zip(parents, combo, strict=True)))
        for v in values[spec.name]:
            table[(*combo, v)] = 0 if v in domain else math.inf
    return names, table


def _minimise(factors: list[Factor], values: Mapping[str, tuple], trace=None) -> float:
    """The minimum of the sum of `factors`; with `trace`, appends (choice, neighbours,
    best value of the choice per neighbours' combination) in elimination order."""
    factors = list(factors)
    remaining = {n for names, _ in factors for n in names}
    while remaining:
        var = min(remaining, key=lambda v: _scope_size(v, factors, values))
        touching = [f for f in factors if var in f[0]]
        factors = [f for f in factors if var not in f[0]]
        names, table, best = _eliminate(var, touching, values)
        factors.append((names, table))
        if trace is not None:
            trace.append((var, names, best))
        remaining.discard(var)
    return sum(table[()] for _, table in factors)


def _scope_size(var: str, factors: list[Factor], values) -> int:
    names = {n for f in factors if var in f[0] for n in f[0]}
    return math.prod(len(values[n]) for n in names)


def _eliminate(var: str, factors: list[Factor], values) -> tuple[tuple[str, ...], dict, dict]:
    names = tuple(sorted({n for f in factors for n in f[0]} - {var}))
    if math.prod(len(values[n]) for n in names) * len(values[var]) > MAX_FACTOR:
        raise TooLarge(f"eliminating `{var}` needs a factor over {len(names)} choices")
    table: dict[tuple, float] = {}
    argbest: dict[tuple, Any] = {}
    for combo in itertools.product(*(values[n] for n in names)):
        assign: dict[str, Any] = dict(zip(names, combo, strict=True))
        best, arg = math.inf, values[var][0]
        for v in values[var]:
            assign[var] = v
            total = sum(t[tuple(assign[n] for n in fn)] for fn, t in factors)
            if total < best:
                best, arg = total, v
        table[combo], argbest[combo] = best, arg
    return names, table, argbest
