"""Deciding conditions and bounding values by enumerating the choices they use.

A condition over a few choices with fixed candidates (`w == 24`, `d > 2`) is
evaluated for every combination of their values: if the result never changes,
the condition is that constant; if it fails for some combination, that
combination is the counterexample a diagnostic can show. Larger cases are left
symbolic (decided per config later).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archc.compiler.decider import Decider
from archc.compiler.enumeration import MAX_COMBINATIONS, combinations, possible_values
from archc.kernel.specs import ChoiceSpec

__all__ = [
    "MAX_COMBINATIONS",
    "Decider",
    "combinations",
    "counterexample",
    "decide",
    "describe_config",
    "possible_values",
    "simplify",
    "tabulate",
    "upper_bound",
]


def decide(cond: Any, choices: Mapping[str, ChoiceSpec]) -> Any:
    """`cond` as a bool when the choices decide it, else unchanged (one question: a
    caller with many over the same choices keeps a `Decider`, which remembers)."""
    return Decider(choices).decide(cond)


def tabulate(cond: Any, choices: Mapping[str, ChoiceSpec]) -> Any:
    """`cond` as a bool when the choices decide it; else, when they are few, as its
    truth table: `(c1, c2, ...) in {the value tuples where it holds}`.

    A condition built by or-ing and and-ing along every path of a graph (which
    parts of a network a config computes) grows with the graph; its truth table
    over the few choices it reads does not, and costs one lookup to evaluate.
    """
    return Decider(choices).tabulate(cond)


def simplify(value: Any, choices: Mapping[str, ChoiceSpec]) -> Any:
    """`value` as a constant when every config of its choices gives the same result."""
    return Decider(choices).simplify(value)


def counterexample(cond: Any, choices: Mapping[str, ChoiceSpec]) -> dict | bool | None:
    """A config where `cond` is false; None when it always holds; False if undecidable."""
    return Decider(choices).counterexample(cond)


def upper_bound(value: Any, choices: Mapping[str, ChoiceSpec]) -> tuple[Any, bool]:
    """(max of `value` over configs, exact?). Without enumeration: the value with each
    choice at its largest candidate, exact when `value` grows with every choice."""
    return Decider(choices).upper_bound(value)


def describe_config(config: Mapping[str, Any]) -> str:
    return ", ".join(f"`{k}` = {v!r}" for k, v in config.items())
