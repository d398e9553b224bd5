"""Parameter types of blocks and ops: `int float bool str tensor op any list[T]`.

Checking is structural on values: a choice over ints is an `int`, an
expression over choices has the type of its result (see `symbolic.type_of`).
"""

from __future__ import annotations

from typing import Any

from archc.dsl import ast
from archc.dsl.values import Poison, Tensor, is_callable
from archc.kernel.diagnostics import fail, suggest
from archc.kernel.symbolic import Sym, type_of

SCALARS = ("int", "float", "bool", "str")
TYPE_NAMES = (*SCALARS, "tensor", "op", "any", "list")


def check_type_ref(t: ast.TypeRef) -> None:
    """Reject unknown type names (`tensr`) and malformed `list[...]`."""
    if t.name not in TYPE_NAMES:
        raise fail(
            "E101",
            f"unknown type `{t.name}`",
            t.span,
            hint=suggest(t.name, TYPE_NAMES) or f"types are {', '.join(TYPE_NAMES)}",
        )
    if t.name == "list" and len(t.args) != 1:
        raise fail("E101", "`list` takes one element type, e.g. `list[tensor]`", t.span)
    if t.name != "list" and t.args:
        raise fail("E101", f"`{t.name}` takes no type arguments", t.span)
    if t.minimum is not None and t.name != "int":
        raise fail("E101", f"only `int` takes a bound (`>= N`), not `{t.name}`", t.span)
    for arg in t.args:
        check_type_ref(arg)


def matches(value: Any, t: ast.TypeRef) -> bool:
    if isinstance(value, Poison) or t.name == "any":
        return True
    if t.name == "tensor":
        return isinstance(value, Tensor)
    if t.name == "op":
        return is_callable(value)
    if t.name == "list":
        if isinstance(value, Sym):
            return value.type in ("list", "any")
        return isinstance(value, tuple) and all(matches(v, t.args[0]) for v in value)
    actual = type_of(value)
    if isinstance(value, Sym) and actual == "any":
        return True
    if t.name == "float":
        return actual in ("int", "float")
    return actual == t.name
