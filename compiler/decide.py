"""Deciding conditions and bounding values by enumerating the choices they use.

A condition over a few choices with fixed candidates (`w == 24`, `d > 2`) is
evaluated for every combination of their values: if the result never changes,
the condition is that constant; if it fails for some combination, that
combination is the counterexample a diagnostic can show. Larger cases are left
symbolic (decided per config later).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

from archc.dsl.program import ChoiceSpec
from archc.dsl.symbolic import ChoiceRef, apply, deps_of, evaluate, is_symbolic

MAX_COMBINATIONS = 4_096


def combinations(value: Any, choices: Mapping[str, ChoiceSpec]) -> Iterator[dict] | None:
    """Every valid config of the choices `value` depends on (with the parents of their
    dependent domains), or None if there are too many or a choice is unknown."""
    names = _closure(sorted(deps_of(value)), choices)
    if names is None:
        return None
    sizes = (len(possible_values(choices[n], choices)) for n in names)
    if math.prod(sizes) > MAX_COMBINATIONS:
        return None
    return _assignments(names, choices, {})


def _closure(names: list[str], choices: Mapping[str, ChoiceSpec]) -> list[str] | None:
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


def _assignments(
    names: list[str], choices: Mapping[str, ChoiceSpec], partial: dict
) -> Iterator[dict]:
    if len(partial) == len(names):
        yield dict(partial)
        return
    spec = choices[names[len(partial)]]
    domain = evaluate(spec.domain, partial) if spec.dependent else spec.domain
    for v in domain:
        partial[spec.name] = v
        yield from _assignments(names, choices, partial)
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


def decide(cond: Any, choices: Mapping[str, ChoiceSpec]) -> Any:
    """`cond` as a bool when the choices decide it, else unchanged."""
    if not is_symbolic(cond):
        return bool(cond)
    configs = combinations(cond, choices)
    if configs is None:
        return cond
    seen = {bool(evaluate(cond, c)) for c in configs}
    return seen.pop() if len(seen) == 1 else cond


def tabulate(cond: Any, choices: Mapping[str, ChoiceSpec]) -> Any:
    """`cond` as a bool when the choices decide it; else, when they are few, as its
    truth table: `(c1, c2, ...) in {the value tuples where it holds}`.

    A condition built by or-ing and and-ing along every path of a graph (which
    parts of a network a config computes) grows with the graph; its truth table
    over the few choices it reads does not, and costs one lookup to evaluate.
    """
    if not is_symbolic(cond):
        return bool(cond)
    configs = combinations(cond, choices)
    if configs is None:
        return cond
    names = sorted(deps_of(cond))
    holds = frozenset(tuple(c[n] for n in names) for c in configs if evaluate(cond, c))
    if not holds:
        return False
    if len(holds) == math.prod(
        len(possible_values(choices[n], choices)) for n in names
    ) and not any(choices[n].dependent for n in names):
        return True
    refs = tuple(ChoiceRef(n, _REF_TYPES.get(choices[n].kind, "any")) for n in names)
    return apply("in", refs, holds)


_REF_TYPES = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "op": "str",
    "input": "str",
}


def simplify(value: Any, choices: Mapping[str, ChoiceSpec]) -> Any:
    """`value` as a constant when every config of its choices gives the same result."""
    if not is_symbolic(value) or isinstance(value, tuple):
        return value
    configs = combinations(value, choices)
    if configs is None:
        return value
    seen = set()
    for config in configs:
        seen.add(evaluate(value, config))
        if len(seen) > 1:
            return value
    return seen.pop() if seen else value


def counterexample(cond: Any, choices: Mapping[str, ChoiceSpec]) -> dict | bool | None:
    """A config where `cond` is false; None when it always holds; False if undecidable."""
    if not is_symbolic(cond):
        return None if cond else {}
    configs = combinations(cond, choices)
    if configs is None:
        return False
    return next((c for c in configs if not evaluate(cond, c)), None)


def upper_bound(value: Any, choices: Mapping[str, ChoiceSpec]) -> tuple[Any, bool]:
    """(max of `value` over configs, exact?). Without enumeration: the value with each
    choice at its largest candidate, exact when `value` grows with every choice."""
    if not is_symbolic(value):
        return value, True
    configs = combinations(value, choices)
    if configs is not None:
        return max(evaluate(value, c) for c in configs), True
    top = {n: max(possible_values(choices[n], choices)) for n in value.deps()}
    return evaluate(value, top), False


def describe_config(config: Mapping[str, Any]) -> str:
    return ", ".join(f"`{k}` = {v!r}" for k, v in config.items())
