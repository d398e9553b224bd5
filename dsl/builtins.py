"""Pure built-in functions of the language (no tensors, no side effects).

Each works on concrete values and, through `symbolic.apply`, on values that
depend on choices, so `divisors(24 * e)` with `e` a choice is a dependent
domain rather than an error.
"""

from __future__ import annotations

import math
from typing import Any

from archc.dsl.values import BuiltinFn
from archc.kernel.symbolic import MAX_ITEMS, apply, is_symbolic, make_divisible


class BuiltinError(Exception):
    """A bad argument to a builtin; the evaluator locates and reports it."""


def _need_concrete(name: str, *args: Any) -> None:
    if any(is_symbolic(a) for a in args):
        raise BuiltinError(
            f"`{name}` needs values known at compile time, not choices; "
            "for a number of layers that is a choice use `repeat(n)`"
        )


def _range(*args: Any) -> tuple[int, ...]:
    _need_concrete("range", *args)
    if not 1 <= len(args) <= 3 or not all(isinstance(a, int) for a in args):
        raise BuiltinError("`range` takes 1 to 3 integers: range(stop), range(start, stop[, step])")
    if len(args) == 3 and args[2] == 0:
        raise BuiltinError("`range` step must not be 0")
    items = range(*args)
    if len(items) > MAX_ITEMS:
        raise BuiltinError(f"a range of {len(items)} items is longer than the limit of {MAX_ITEMS}")
    return tuple(items)


def _divisors(n: Any) -> Any:
    if not is_symbolic(n) and (not isinstance(n, int) or isinstance(n, bool) or n <= 0):
        raise BuiltinError(f"`divisors` needs a positive integer, got {n!r}")
    return apply("divisors", n)


def _minmax(name: str):
    def fn(*args: Any) -> Any:
        items = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
        if not items:
            raise BuiltinError(f"`{name}` of an empty list")
        result = items[0]
        for item in items[1:]:
            result = apply(name, result, item)
        return result

    return fn


def _len(xs: Any) -> Any:
    """A list's length is known even when its items are choices; only a list that is
    itself a choice (or computed from one) has a symbolic length."""
    if isinstance(xs, tuple):
        return len(xs)
    if not (is_symbolic(xs) and xs.type in ("list", "any")):
        raise BuiltinError(f"`len` needs a list, got {type(xs).__name__}")
    return apply("len", xs)


def _sum(xs: Any) -> Any:
    if not isinstance(xs, tuple):
        raise BuiltinError("`sum` needs a list")
    total: Any = 0
    for x in xs:
        total = apply("add", total, x)
    return total


def _make_divisible(value: Any, divisor: int = 8, min_value: int | None = None) -> Any:
    """MobileNet's channel rounding; `value` may depend on choices or shapes."""
    _need_concrete("make_divisible", divisor, min_value)
    if is_symbolic(value):
        return apply("make_divisible", value, divisor, min_value)
    return make_divisible(value, divisor, min_value)


def _enumerate(xs: Any) -> tuple:
    _need_concrete("enumerate", xs)
    return tuple((i, x) for i, x in enumerate(xs))


def _zip(*lists: Any) -> tuple:
    _need_concrete("zip", *lists)
    return tuple(zip(*lists, strict=False))


def _numeric(name: str, fn):
    def wrapped(x: Any) -> Any:
        if is_symbolic(x):
            return apply(name, x)
        if not isinstance(x, (int, float)):
            raise BuiltinError(f"`{name}` needs a number, got {x!r}")
        return fn(x)

    return wrapped


BUILTINS: dict[str, BuiltinFn] = {
    b.name: b
    for b in [
        BuiltinFn(
            "range",
            _range,
            "range(stop) or range(start, stop[, step]): half-open, like "
            "Python; for inclusive bounds write a..b",
        ),
        BuiltinFn("divisors", _divisors, "divisors(n): the positive divisors of n, ascending"),
        BuiltinFn("len", _len, "len(list): number of items"),
        BuiltinFn("min", _minmax("min"), "min(a, b, ...) or min(list)"),
        BuiltinFn("max", _minmax("max"), "max(a, b, ...) or max(list)"),
        BuiltinFn("sum", _sum, "sum(list)"),
        BuiltinFn("abs", _numeric("abs", abs), "abs(x)"),
        BuiltinFn("int", _numeric("int", int), "int(x): truncate towards zero"),
        BuiltinFn("float", _numeric("float", float), "float(x)"),
        BuiltinFn("round", _numeric("round", round), "round(x): nearest integer"),
        BuiltinFn(
            "ceil",
            lambda x: (_need_concrete("ceil", x), math.ceil(x))[1],
            "ceil(x): smallest integer >= x",
        ),
        BuiltinFn(
            "floor",
            lambda x: (_need_concrete("floor", x), math.floor(x))[1],
            "floor(x): largest integer <= x",
        ),
        BuiltinFn(
            "make_divisible",
            _make_divisible,
            "make_divisible(v, divisor=8): MobileNet channel rounding",
        ),
        BuiltinFn("enumerate", _enumerate, "enumerate(list): (index, item) pairs"),
        BuiltinFn("zip", _zip, "zip(a, b, ...): tuples of corresponding items"),
        BuiltinFn("str", lambda x: (_need_concrete("str", x), str(x))[1], "str(x)"),
    ]
}
