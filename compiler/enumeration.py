"""Enumerating the valid configs of the choices a value depends on.

A choice whose domain depends on other choices (`g in divisors(w * e)`) is
enumerated after its parents, with its domain evaluated under their values, so
only valid configs are produced. `archc.compiler.decide` and `Decider` build on
this; it is separate so that both can import it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import deps_of, evaluate

MAX_COMBINATIONS = 4_096


def combinations(value: Any, choices: Mapping[str, ChoiceSpec]) -> Iterator[dict] | None:
    """Every valid config of the choices `value` depends on (with the parents of their
    dependent domains), or None if there are too many or a choice is unknown."""
    names = closure(sorted(deps_of(value)), choices)
    if names is None:
        return None
    sizes = (len(possible_values(choices[n], choices)) for n in names)
    if math.prod(sizes) > MAX_COMBINATIONS:
        return None
    return assignments(names, choices, {})


def closure(names: list[str], choices: Mapping[str, ChoiceSpec]) -> list[str] | None:
    """`names` and every choice their domains depend on, parents before children."""
    order: list[str] = []

    def visit(name: str) -> bool:
        spec = choices.get(name)
        if spec is None:
            return False
        if name in order:
            return True
        parents = sorted(deps_of(spec.domain)) if spec.dependent else []
        if not all(visit(p) for p in parents):
            return False
        order.append(name)
        return True

    return order if all(visit(n) for n in names) else None


def assignments(
    names: list[str], choices: Mapping[str, ChoiceSpec], partial: dict
) -> Iterator[dict]:
    if len(partial) == len(names):
        yield dict(partial)
        return
    spec = choices[names[len(partial)]]
    domain = evaluate(spec.domain, partial) if spec.dependent else spec.domain
    for v in domain:
        partial[spec.name] = v
        yield from assignments(names, choices, partial)
        del partial[spec.name]


def possible_values(spec: ChoiceSpec, choices: Mapping[str, ChoiceSpec]) -> tuple:
    """Every value a choice can take (for a dependent domain: over all its parents)."""
    if not spec.dependent:
        return spec.domain
    parents = sorted(deps_of(spec.domain))
    values: list = []
    for combo in itertools.product(*(possible_values(choices[p], choices) for p in parents)):
        for v in evaluate(spec.domain, dict(zip(parents, combo, strict=True))):
            if v not in values:
                values.append(v)
    return tuple(values)
