"""Bounded parameters: `stride: int >= 1` states the values an argument accepts.

The prelude declares the domain of every integer argument of every op this way
(`conv(16, stride=0)` would divide by zero in the shape rule, `conv(-16)` would
count negative parameters), and a block may bound its own parameters the same
way. An argument is checked where it is passed, so the error points at it:

- a value known now is checked at once;
- a value that depends on choices is checked for every config of those choices
  (`stride=choice(0, 1)` fails, naming the config);
- a value that depends on tensor shapes, or on too many choices to enumerate
  here, becomes a requirement that lowering checks once shapes are known (for an
  op) or a per-config check (for a block).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from archc.dsl import ast
from archc.dsl.values import Poison
from archc.kernel.diagnostics import ArchError, Diagnostic, shown_number
from archc.kernel.symbolic import apply, evaluate, is_symbolic

Outcomes = Callable[[Any], list[tuple[dict[str, Any], Any]] | None]
MAXIMUM = 2**31 - 1  # a size, stride or count past this is a typo (10**400 overflowed)


def bounded_items(value: Any, t: ast.TypeRef) -> Iterator[tuple[Any, int]]:
    """(item, minimum) for every part of `value` that `t` bounds (`list[int >= 0]`
    bounds each item)."""
    if t.name == "int" and t.minimum is not None:
        yield value, t.minimum
    elif t.name == "list" and t.args and isinstance(value, tuple):
        for item in value:
            yield from bounded_items(item, t.args[0])


def check_bounds(
    value: Any, param: ast.Param, callee: str, where: ast.Node, outcomes: Outcomes
) -> list[tuple[Any, str]]:
    """Raise for an argument outside its parameter's bound; return what cannot be
    decided here as (condition, message) requirements."""
    t = param.type
    if t.name != "list" and (t.name != "int" or t.minimum is None):
        return []  # nothing bounded: most parameters
    pending = []
    for item, minimum in bounded_items(value, t):
        if type(item) is int and minimum <= item <= MAXIMUM:
            continue  # the common case, first: every literal size of a network
        if isinstance(item, (Poison, bool)) or not _is_int(item):
            continue
        message = f"argument `{param.name}` of `{callee}` must be >= {minimum}"
        if not is_symbolic(item):
            if item < minimum:
                raise _error(f"{message}, got {shown_number(item)}", where)
            if item > MAXIMUM:
                raise _error(
                    f"argument `{param.name}` of `{callee}` must be <= {MAXIMUM}, "
                    f"got {shown_number(item)}",
                    where,
                )
            continue
        cond = apply("ge", item, minimum)
        if cond is True:
            continue
        found = outcomes(cond) if cond is not False else None
        if found is None:
            pending.append((cond, message))
            continue
        failing = next((config for config, ok in found if not ok), None)
        if failing is not None:
            got = shown_number(evaluate(item, failing))
            when = ", ".join(f"`{k}` = {_shown(v)}" for k, v in failing.items())
            raise _error(f"{message}, but is {got} when {when}", where)
    return pending


def _is_int(value: Any) -> bool:
    return isinstance(value, int) or (is_symbolic(value) and value.type in ("int", "any"))


def _shown(value: Any) -> str:
    return shown_number(value) if isinstance(value, int) else repr(value)


def _error(message: str, where: ast.Node) -> ArchError:
    return ArchError([Diagnostic("E233", message, where.span)])
