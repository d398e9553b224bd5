"""Symbolic values: expressions over choices and tensor dimensions.

When an expression depends on a choice (`s2.w * 4`) or on a tensor shape the
front end does not compute (`x.channels`), evaluation builds a `Sym` instead of
a number. Syms are small frozen trees with a static type; the compiler
evaluates them per config (`evaluate`) once shapes are known. `apply` folds
constants, so a Sym only exists where something really is unknown.
"""

from __future__ import annotations

import math
import operator
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Sym:
    """Base of symbolic values. `type` is one of int, float, bool, str, list, any.

    Arithmetic operators build `Apply` nodes (folding constants), so rules such as
    the compiler's shape formulas read like the PyTorch docs whether their inputs
    are numbers or depend on choices. `==` stays structural equality (Syms are
    dict keys); compare with `apply("eq", a, b)`.
    """

    type: str

    def deps(self) -> frozenset[str]:
        raise NotImplementedError

    def __add__(self, other: Any) -> Any:
        return apply("add", self, other)

    def __radd__(self, other: Any) -> Any:
        return apply("add", other, self)

    def __sub__(self, other: Any) -> Any:
        return apply("sub", self, other)

    def __rsub__(self, other: Any) -> Any:
        return apply("sub", other, self)

    def __mul__(self, other: Any) -> Any:
        return apply("mul", self, other)

    def __rmul__(self, other: Any) -> Any:
        return apply("mul", other, self)

    def __floordiv__(self, other: Any) -> Any:
        return apply("floordiv", self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return apply("floordiv", other, self)

    def __truediv__(self, other: Any) -> Any:
        return apply("truediv", self, other)

    def __mod__(self, other: Any) -> Any:
        return apply("mod", self, other)

    def __neg__(self) -> Any:
        return apply("neg", self)


@dataclass(frozen=True)
class ChoiceRef(Sym):
    name: str
    type: str

    def deps(self) -> frozenset[str]:
        return frozenset([self.name])

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Dim(Sym):
    """Dimension `axis` (0 = channels, 1 = height, 2 = width) of node `node`'s output."""

    node: int
    axis: int
    type: str = "int"

    def deps(self) -> frozenset[str]:
        return frozenset()

    def __str__(self) -> str:
        return f"%{self.node}.{('channels', 'height', 'width')[self.axis]}"


@dataclass(frozen=True)
class Apply(Sym):
    fn: str
    args: tuple[Any, ...]
    type: str
    _deps: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def deps(self) -> frozenset[str]:
        return self._deps

    def __str__(self) -> str:
        parts = [str(a) if not isinstance(a, str) else f'"{a}"' for a in self.args]
        if self.fn in INFIX and len(parts) == 2:
            return f"({parts[0]} {INFIX[self.fn]} {parts[1]})"
        if self.fn == "neg":
            return f"-{parts[0]}"
        if self.fn == "not":
            return f"not {parts[0]}"
        if self.fn == "if":
            return f"({parts[1]} if {parts[0]} else {parts[2]})"
        return f"{self.fn}({', '.join(parts)})"


@dataclass(frozen=True)
class Var(Sym):
    """A name bound by a `Comprehension` (its loop variable), inside its `items`."""

    name: str
    type: str = "any"

    def deps(self) -> frozenset[str]:
        return frozenset()

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Comprehension(Sym):
    """`[... for names in iterable]` over a list that depends on choices.

    For each item of `iterable` (its value under the config), `names` (`Var`s) are
    bound to the item (unpacked when there are several) and `items`, an expression
    whose value is a tuple, is evaluated; the result is the concatenation. A filter
    `if c` is `apply("if", c, (x,), ())`, a nested `for` another `Comprehension`.
    `source` and `where` are only for messages: the comprehension as written and the
    choice-dependent values its free names stood for.
    """

    names: tuple[Var, ...]
    iterable: Any
    items: Any
    type: str = "list"
    source: str | None = field(default=None, compare=False)
    where: tuple[tuple[str, Any], ...] = field(default=(), compare=False)
    _deps: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def deps(self) -> frozenset[str]:
        return self._deps

    def __str__(self) -> str:
        return "<expression>"  # messages print `source` (compiler.space.domains.describe)


MAX_ITEMS = 100_000  # the longest list a range may make: a search space, not a dataset
MAX_DIVISORS_OF = 10**12  # divisors() tries every number up to the square root


def divisors(n: int) -> tuple[int, ...]:
    if n <= 0:
        return ()
    if n > MAX_DIVISORS_OF:
        raise ValueError(f"`divisors` of a number above 10**12 is not supported, got {n}")
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return tuple(sorted(set(small + [n // d for d in small])))


def inclusive_range(start: int, stop: int, step: int = 1) -> tuple[int, ...]:
    if step == 0:
        raise ValueError("range step must not be 0")
    items = range(start, stop + (1 if step > 0 else -1), step)
    if len(items) > MAX_ITEMS:
        raise ValueError(f"a range of {len(items)} items is longer than the limit of {MAX_ITEMS}")
    return tuple(items)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """MobileNet's channel rounding: nearest multiple of `divisor`, never 10% below."""
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _truediv(a, b):
    return a / b


def _if(cond, then, orelse):
    return then if cond else orelse


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": _truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "neg": operator.neg,
    "not": operator.not_,
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "and": lambda a, b: a and b,
    "or": lambda a, b: a or b,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
    "if": _if,
    "index": lambda xs, i: xs[i],
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "divisors": divisors,
    "range": inclusive_range,
    "int": int,
    "float": float,
    "round": round,
    "make_divisible": make_divisible,
}
INFIX = {  # operator name -> how the language writes it
    "add": "+",
    "sub": "-",
    "mul": "*",
    "truediv": "/",
    "floordiv": "//",
    "mod": "%",
    "pow": "**",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "and": "and",
    "or": "or",
    "in": "in",
    "not in": "not in",
}
_BOOL_RESULT = {"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "in", "not in", "not"}


def type_of(value: Any) -> str:
    if isinstance(value, Sym):
        return value.type
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, tuple):
        return "list"
    return "any"


def _result_type(fn: str, args: tuple[Any, ...]) -> str:
    if fn in _BOOL_RESULT:
        return "bool"
    types = [type_of(a) for a in args]
    if fn == "truediv" or fn == "float":
        return "float"
    if fn in ("int", "round", "len", "make_divisible"):
        return "int"
    if fn in ("divisors", "range"):
        return "list"
    if fn == "if":
        return types[1] if types[1] == types[2] else "any"
    if fn == "index":
        return "any"
    if fn in ("add", "sub", "mul", "floordiv", "mod", "pow", "neg", "abs", "min", "max", "sum"):
        if "float" in types:
            return "float"
        return "int" if all(t in ("int", "bool") for t in types) else "any"
    return "any"


def deps_of(value: Any) -> frozenset[str]:
    if isinstance(value, Sym):
        return value.deps()
    if isinstance(value, tuple):
        return frozenset().union(*(deps_of(v) for v in value)) if value else frozenset()
    return frozenset()


def is_symbolic(value: Any) -> bool:
    if isinstance(value, Sym):
        return True
    return isinstance(value, tuple) and any(is_symbolic(v) for v in value)


def _any_symbolic(args: tuple) -> bool:
    """`any(is_symbolic(a) for a in args)` without a generator: `apply` runs it for
    every arithmetic operation of an elaboration."""
    for a in args:  # noqa: SIM110 (a generator costs more here)
        if isinstance(a, Sym) or (isinstance(a, tuple) and is_symbolic(a)):
            return True
    return False


def apply(fn: str, *args: Any) -> Any:
    """`FUNCTIONS[fn](*args)`, or an `Apply` when an argument is symbolic."""
    if not _any_symbolic(args):
        return FUNCTIONS[fn](*args)
    simple = _identity(fn, args)
    if simple is not _NOT_SIMPLE:
        return simple
    if fn == "if" and not is_symbolic(args[0]):
        return args[1] if args[0] else args[2]
    if fn == "if" and args[1] == args[2] and type(args[1]) is type(args[2]):
        return args[1]
    if fn in ("eq", "ne") and _same(args[0], args[1]):
        return fn == "eq"
    deps = frozenset().union(*[deps_of(a) for a in args])
    return Apply(fn=fn, args=tuple(args), type=_result_type(fn, args), _deps=deps)


_NOT_SIMPLE = object()


def _identity(fn: str, args: tuple) -> Any:
    """x + 0, x - 0, x * 1, x // 1 -> x (integers only, so types do not change)."""
    if len(args) != 2:
        return _NOT_SIMPLE
    a, b = args
    unit = {"add": 0, "sub": 0, "mul": 1, "floordiv": 1}.get(fn)
    if unit is None:
        return _NOT_SIMPLE
    if _is_int(b, unit) and isinstance(a, Sym) and a.type == "int":
        return a
    if fn in ("add", "mul") and _is_int(a, unit) and isinstance(b, Sym) and b.type == "int":
        return b
    return _NOT_SIMPLE


def _is_int(value: Any, unit: int) -> bool:
    return type(value) is int and value == unit


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, Sym) and a == b


def comprehension(
    names: tuple[Var, ...],
    iterable: Any,
    items: Any,
    source: str | None = None,
    where: tuple[tuple[str, Any], ...] = (),
) -> Comprehension:
    deps = deps_of(iterable) | deps_of(items) | deps_of(tuple(v for _, v in where))
    return Comprehension(names, iterable, items, "list", source, where, deps)


def evaluate(
    value: Any, config: Mapping[str, Any], dims: Callable[[int, int], Any] | None = None
) -> Any:
    """The concrete value of `value` under `config` (choice name -> value).

    `dims(node, axis)` supplies tensor dimensions; it is required only when
    `value` mentions a `Dim`. Shared subexpressions are evaluated once (symbolic
    shapes and activity conditions are DAGs that would be exponential as trees).
    """
    return _evaluate(value, config, dims, {})


class Evaluation:
    """Many values under one config, sharing every evaluated subexpression: the
    terms of one cost table share their shapes, so evaluating them one by one
    (a fresh memo each) repeats most of the work."""

    def __init__(self, config: Mapping[str, Any], dims: Callable[[int, int], Any] | None = None):
        self.config, self.dims, self.memo = config, dims, {}

    def __call__(self, value: Any) -> Any:
        return _evaluate(value, self.config, self.dims, self.memo)


def _evaluate(value: Any, config: Mapping[str, Any], dims, memo: dict[int, Any]) -> Any:
    if isinstance(value, tuple):
        return tuple(_evaluate(v, config, dims, memo) for v in value)
    if not isinstance(value, Sym):
        return value
    if isinstance(value, ChoiceRef):
        return config[value.name]
    key = id(value)
    if key in memo:
        return memo[key]
    if isinstance(value, Apply):
        result = _apply_value(value, config, dims, memo)
    elif isinstance(value, Dim):
        if dims is None:
            raise LookupError(f"dimension {value} is needed but no shapes were given")
        result = dims(value.node, value.axis)
    elif isinstance(value, Var):
        return config[value]  # bound by the enclosing comprehension (see below)
    elif isinstance(value, Comprehension):
        result = _comprehend(value, config, dims, memo)
    else:
        raise TypeError(f"unknown symbolic value {value!r}")
    memo[key] = result
    return result


def _comprehend(value: Comprehension, config, dims, memo) -> tuple:
    """Each item bound to the `Var`s (keys of a layer over `config`, never strings, so
    no choice name can clash) with a fresh memo: `items` mentions the `Var`s."""
    out: list[Any] = []
    names = value.names
    for item in _evaluate(value.iterable, config, dims, memo):
        if len(names) == 1:
            bound = {names[0]: item}
        elif isinstance(item, tuple) and len(item) == len(names):
            bound = dict(zip(names, item, strict=True))
        else:
            raise ValueError(f"cannot unpack {item!r} into {len(names)} names")
        out.extend(_evaluate(value.items, ChainMap(bound, config), dims, {}))
        if len(out) > MAX_ITEMS:
            raise ValueError(f"this list has more than {MAX_ITEMS} items")
    return tuple(out)


def _apply_value(value: Apply, config, dims, memo) -> Any:
    args = value.args
    if value.fn == "if":
        cond = _evaluate(args[0], config, dims, memo)
        return _evaluate(args[1] if cond else args[2], config, dims, memo)
    if value.fn in ("and", "or"):  # short-circuit, like the language
        left = _evaluate(args[0], config, dims, memo)
        if bool(left) == (value.fn == "or"):
            return left
        return _evaluate(args[1], config, dims, memo)
    return FUNCTIONS[value.fn](*(_evaluate(a, config, dims, memo) for a in args))
