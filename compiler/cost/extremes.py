"""Exact smallest and largest cost over all valid configs, by variable elimination.

The cost model is a sum of tables, each over a few choices (`CostModel.tables`);
dependent domains add validity factors (a group count must divide its width).
Minimising such a sum over all configs is a min-sum problem on a graph of
choices that is nearly a chain of stages, so variable elimination (`factors`)
is exact and fast, where enumerating 10^16 configs is not. Maximising is minimising the negation.
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

from archc.compiler.cost.factors import (
    MIN_SUM,
    Factor,
    TooLarge,
    Trace,
    back_substitute,
    eliminate_all,
)
from archc.compiler.cost.model import CostModel
from archc.compiler.decide import possible_values
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import deps_of, evaluate

__all__ = ["TooLarge", "cost_extremes", "extreme_config", "validity_factor"]


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
    validity = [
        validity_factor(spec, choices, values) for spec in choices.values() if spec.dependent
    ]
    constant = (model.constant.params, model.constant.macs)[index]
    out = []
    for sign in (1, -1):
        factors = [
            (names, {k: sign * v[index] for k, v in t.items()}) for names, t in model.tables
        ] + validity
        out.append(int(constant + sign * eliminate_all(factors, values, MIN_SUM)))
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
    validity = [
        validity_factor(spec, choices, values) for spec in choices.values() if spec.dependent
    ]
    # one exact integer per entry orders by MACs, then params (params < 2**48)
    factors = [
        (names, {k: sign * ((m << 48) + p) for k, (p, m) in t.items()}) for names, t in model.tables
    ] + validity
    trace: Trace = []
    eliminate_all(factors, values, MIN_SUM, trace)
    return back_substitute(trace)


def validity_factor(spec: ChoiceSpec, choices, values, ok: Any = 0, bad: Any = math.inf) -> Factor:
    """`ok` where the child's value is in the domain its parents give, `bad` elsewhere
    (0 and +inf for min-sum; 1 and 0 for counting)."""
    parents = tuple(sorted(deps_of(spec.domain)))
    names = (*parents, spec.name)
    table = {}
    for combo in itertools.product(*(values[p] for p in parents)):
        domain = evaluate(spec.domain, dict(zip(parents, combo, strict=True)))
        for v in values[spec.name]:
            table[(*combo, v)] = ok if v in domain else bad
    return names, table
