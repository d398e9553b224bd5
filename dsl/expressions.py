"""Compile-time evaluation of expressions.

`ExprEvaluator` turns AST expressions into values (see `archc.dsl.values`).
Arithmetic, comparisons and conditionals on choice-dependent values build
`Sym`s; conditionals whose branches are tensors become `select` nodes. Calls,
pipes and choices live in `calls.py` and `choices.py`; statements in
`elaborate.py`. Errors raise `ArchError`; the statement loop reports them and
binds `POISON`, which absorbs everything, so each mistake is reported once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from archc.dsl import ast
from archc.dsl.values import POISON, Family, Namespace, Poison, Tensor, describe
from archc.kernel.diagnostics import ArchError, fail, shown_number, suggest
from archc.kernel.symbolic import (
    MAX_ITEMS,
    Apply,
    Comprehension,
    Dim,
    Sym,
    Var,
    apply,
    comprehension,
    is_symbolic,
    type_of,
)

_ARITH = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "truediv",
    "//": "floordiv",
    "%": "mod",
    "**": "pow",
}
_COMPARE = {
    "==": "eq",
    "!=": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
    "in": "in",
    "not in": "not in",
}
MAX_INT_BITS = 10_000  # about 3,000 digits: every int stays printable and cheap
_TENSOR_DIMS = {"channels": 0, "height": 1, "width": 2}


class _PoisonSeen(Exception):
    """A comprehension met a value that already failed: the whole list is POISON."""


class Env:
    """A lexical environment: a dict of bindings and a parent."""

    def __init__(
        self, bindings: Mapping[str, Any] | None = None, parent: Env | None = None, module: str = ""
    ):
        self.vars: dict[str, Any] = dict(bindings or {})
        self.parent = parent
        self.module = module or (parent.module if parent else "")

    def lookup(self, name: str) -> Any:
        env: Env | None = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        raise KeyError(name)

    def names(self) -> set[str]:
        out: set[str] = set()
        env: Env | None = self
        while env is not None:
            out |= set(env.vars)
            env = env.parent
        return out

    def child(self, bindings: Mapping[str, Any] | None = None) -> Env:
        return Env(bindings, self)

    def bind(self, name: str, value: Any) -> None:
        """Bind (or shadow) `name` here; a loop body's environment binds in its parent."""
        self.vars[name] = value


class ExprEvaluator:
    """Pure expression evaluation; subclasses add calls, choices and the graph."""

    def eval(self, expr: ast.Node, env: Env, hint: str | None = None) -> Any:
        try:
            method, hinted = _METHODS[type(self), expr.kind]
        except KeyError:  # first use of this kind by this class: look it up once
            method = getattr(type(self), f"_eval_{expr.kind}")
            method, hinted = _METHODS[type(self), expr.kind] = (method, expr.kind in _HINTED)
        return method(self, expr, env, hint) if hinted else method(self, expr, env)

    # ---- literals and names
    def _eval_number(self, e: ast.Number, env: Env) -> Any:
        if e.unit is not None:
            raise fail(
                "E201",
                f"`{e.text}` is a duration; durations are only allowed as the "
                "bound of a latency constraint",
                e.span,
            )
        return e.value

    def _eval_string(self, e: ast.String, env: Env) -> str:
        return e.value

    def _eval_bool(self, e: ast.Bool, env: Env) -> bool:
        return e.value

    def _eval_none(self, e: ast.NoneLit, env: Env) -> None:
        return None

    def _eval_name(self, e: ast.Name, env: Env) -> Any:
        try:
            return env.lookup(e.id)
        except KeyError:
            hint = suggest(e.id, env.names()) if self.wants_hints() else None
            raise fail("E202", f"unknown name `{e.id}`", e.span, hint=hint) from None

    def _eval_attribute(self, e: ast.Attribute, env: Env) -> Any:
        value = self.eval(e.value, env)
        if isinstance(value, Poison):
            return POISON
        if isinstance(value, Namespace):
            if e.attr not in value.members:
                raise fail(
                    "E203",
                    f"module `{value.name}` has no `{e.attr}`",
                    e.span,
                    hint=suggest(e.attr, value.members),
                )
            return value.members[e.attr]
        if isinstance(value, Tensor):
            if e.attr == "shape":
                return tuple(Dim(value.node, axis) for axis in range(3))
            if e.attr in _TENSOR_DIMS:
                return Dim(value.node, _TENSOR_DIMS[e.attr])
            raise fail(
                "E203",
                f"a tensor has no attribute `{e.attr}`",
                e.span,
                hint=suggest(e.attr, [*_TENSOR_DIMS, "shape"])
                or "tensors have `channels`, `height`, `width` and `shape`",
            )
        raise fail("E203", f"{describe(value)} has no attribute `{e.attr}`", e.span)

    def _eval_index(self, e: ast.Index, env: Env) -> Any:
        value, index = self.eval(e.value, env), self.eval(e.index, env)
        if isinstance(value, Poison) or isinstance(index, Poison):
            return POISON
        if isinstance(value, Family):
            return _member(value, index, e)
        if not isinstance(value, tuple) and not is_symbolic(value):
            raise fail("E204", f"cannot index {describe(value)}", e.value.span)
        if isinstance(index, bool) or not isinstance(index, int):
            if is_symbolic(index) and isinstance(value, tuple) and index.type == "int":
                return self._select_item(value, index, e)
            raise fail(
                "E204", f"list index must be an integer, got {describe(index)}", e.index.span
            )
        if isinstance(value, tuple) and not -len(value) <= index < len(value):
            raise fail(
                "E205",
                f"index {shown_number(index)} is out of range for a list of {len(value)}",
                e.index.span,
                hint=f"valid indices are 0 to {len(value) - 1}, or -{len(value)} to -1 from the end"
                if value
                else "the list is empty",
            )
        if isinstance(value, tuple):  # a known position: the item itself, even a choice
            return value[index]
        return apply("index", value, index)

    def _eval_slice(self, e: ast.Slice, env: Env) -> Any:
        value = self.eval(e.value, env)
        bounds = [None if b is None else self.eval(b, env) for b in (e.start, e.stop, e.step)]
        if isinstance(value, Poison) or any(isinstance(b, Poison) for b in bounds):
            return POISON
        if not isinstance(value, tuple):
            raise fail("E204", f"cannot slice {describe(value)}", e.value.span)
        for b, node in zip(bounds, (e.start, e.stop, e.step), strict=True):
            if b is not None and (isinstance(b, bool) or not isinstance(b, int)):
                raise fail(
                    "E204",
                    f"slice bounds must be integers known at compile time, got {describe(b)}",
                    node.span,
                    hint="a list whose length is a choice cannot be written; for a number "
                    "of layers that is a choice use `repeat(n)`"
                    if is_symbolic(b)
                    else None,
                )
        if bounds[2] == 0:
            raise fail("E204", "slice step must not be 0", e.step.span)
        return value[slice(*bounds)]

    def _select_item(self, items: tuple, index: Sym, e: ast.Index) -> Any:
        if any(isinstance(x, Tensor) for x in items):
            raise fail(
                "E204",
                "a list of tensors cannot be indexed by a choice; use "
                "`choice(a, b, ...)` to choose between tensors",
                e.index.span,
            )
        return apply("index", items, index)

    # ---- collections
    def _eval_list(self, e: ast.ListLit, env: Env) -> tuple:
        return tuple(self.eval(item, env) for item in e.items)

    def _eval_range(self, e: ast.RangeLit, env: Env) -> Any:
        start, stop = self.eval(e.start, env), self.eval(e.stop, env)
        step = self.eval(e.step, env) if e.step is not None else 1
        for part, node in ((start, e.start), (stop, e.stop), (step, e.step or e)):
            if isinstance(part, Poison):
                return POISON
            if isinstance(part, bool) or type_of(part) != "int":
                raise fail(
                    "E206", f"range bounds must be integers, got {describe(part)}", node.span
                )
        if step == 0:
            raise fail("E206", "range step must not be 0", e.step.span if e.step else e.span)
        try:
            result = apply("range", start, stop, step)
        except ValueError as err:  # longer than symbolic.MAX_ITEMS
            raise fail("E206", str(err), e.span) from None
        if isinstance(result, tuple) and not result:
            raise fail(
                "E206",
                f"range {shown_number(start)}..{shown_number(stop)} step "
                f"{shown_number(step)} is empty",
                e.span,
                hint="ranges include both ends and count upwards unless the step is negative",
            )
        return result

    def _eval_comprehension(self, e: ast.Comprehension, env: Env) -> Any:
        iterable = self._symbolic_iterable(e, env)
        if iterable is not None:
            return comprehension_over_choices(e, iterable, env)
        items = []
        try:
            for item in self._comprehend(e, list(e.clauses), env):
                self.charge(e.span)
                items.append(item)
                if len(items) > MAX_ITEMS:
                    raise fail(
                        "E207",
                        f"this list has more than {MAX_ITEMS} items",
                        e.span,
                        hint="is a loop bound much larger than intended?",
                    )
        except _PoisonSeen:
            return POISON  # an earlier mistake, already reported
        return tuple(items)

    def _symbolic_iterable(self, e: ast.Comprehension, env: Env) -> Any:
        """The first iterable, when it depends on choices (else None)."""
        first = e.clauses[0]
        if not isinstance(first, ast.CompFor):
            return None
        iterable = self.eval(first.iter, env)
        if isinstance(iterable, Poison) or not is_symbolic(iterable):
            return None
        return iterable

    def _comprehend(self, e: ast.Comprehension, clauses: list, env: Env) -> Iterator[Any]:
        if not clauses:
            yield self.eval(e.element, env)
            return
        clause, rest = clauses[0], clauses[1:]
        if isinstance(clause, ast.CompIf):
            test = self.eval(clause.test, env)
            if is_symbolic(test):
                raise fail(
                    "E207",
                    "a comprehension filter cannot depend on a choice here",
                    clause.test.span,
                )
            if test:
                yield from self._comprehend(e, rest, env)
            return
        iterable = self.eval(clause.iter, env)
        if isinstance(iterable, Poison):
            raise _PoisonSeen
        if not isinstance(iterable, tuple):
            raise fail(
                "E207",
                f"cannot loop over {describe(iterable)}",
                clause.iter.span,
                hint="loops need a list or a range known at compile time",
            )
        for item in iterable:
            yield from self._comprehend(e, rest, env.child(self._unpack(clause, item)))

    def _unpack(self, clause: ast.CompFor, item: Any) -> dict[str, Any]:
        if len(clause.targets) == 1:
            return {clause.targets[0]: item}
        if not isinstance(item, tuple) or len(item) != len(clause.targets):
            raise fail(
                "E207",
                f"cannot unpack {describe(item)} into {len(clause.targets)} names",
                clause.span,
            )
        return dict(zip(clause.targets, item, strict=False))

    def _eval_call(self, e: ast.Call, env: Env, hint: str | None = None) -> Any:
        """Pure evaluation knows builtins only; `CallEvaluator` adds blocks and ops."""
        from archc.dsl.builtins import BuiltinError
        from archc.dsl.values import BuiltinFn

        fn = self.eval(e.func, env)
        if not isinstance(fn, BuiltinFn) or e.keywords:
            raise fail("E223", "only builtin functions can be called here", e.span)
        try:
            return fn.fn(*(self.eval(a, env) for a in e.args))
        except BuiltinError as err:
            raise fail("E224", str(err), e.span) from None
        except (TypeError, ArithmeticError, ValueError) as err:
            raise fail("E224", f"bad arguments to `{fn.name}`: {err}", e.span) from None

    # ---- operators
    def _eval_unary(self, e: ast.UnaryOp, env: Env) -> Any:
        value = self.eval(e.operand, env)
        if isinstance(value, Poison):
            return POISON
        if e.op == "not":
            return self.fold(apply("not", self._truth(value, e.operand)))
        if not _numeric(value) or isinstance(value, bool):  # not tensors, ops or none
            raise fail("E208", f"cannot negate {describe(value)}", e.operand.span)
        return apply("neg", value)

    def _eval_binop(self, e: ast.BinOp, env: Env) -> Any:
        if e.op in ("and", "or"):
            return self._logic(e, env)
        left, right = self.eval(e.left, env), self.eval(e.right, env)
        if isinstance(left, Poison) or isinstance(right, Poison):
            return POISON
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            return self.tensor_binop(e, left, right)
        if e.op in _COMPARE:
            return self._compare(e, left, right)
        return self._arith(e, left, right)

    def _logic(self, e: ast.BinOp, env: Env) -> Any:
        left = self._truth(self.eval(e.left, env), e.left)
        if not is_symbolic(left) and not isinstance(left, Poison):
            if (e.op == "and") != bool(left):
                return left
            return self._truth(self.eval(e.right, env), e.right)
        return self.fold(apply(e.op, left, self._truth(self.eval(e.right, env), e.right)))

    def _truth(self, value: Any, node: ast.Node) -> Any:
        if isinstance(value, (bool, Poison)) or (is_symbolic(value) and value.type == "bool"):
            return value
        raise fail(
            "E209",
            f"expected a bool, got {describe(value)}",
            node.span,
            hint="write a comparison, e.g. `x == 0`",
        )

    def _compare(self, e: ast.BinOp, left: Any, right: Any) -> Any:
        if e.op in ("in", "not in"):
            if not isinstance(right, tuple) and not is_symbolic(right):
                raise fail(
                    "E210",
                    f"`{e.op}` needs a list on the right, got {describe(right)}",
                    e.right.span,
                )
        elif e.op not in ("==", "!=") and not (_numeric(left) and _numeric(right)):
            raise fail(
                "E210",
                f"cannot compare {describe(left)} with {describe(right)} using `{e.op}`",
                e.span,
            )
        return self.fold(apply(_COMPARE[e.op], left, right))

    def _arith(self, e: ast.BinOp, left: Any, right: Any) -> Any:
        fn = _ARITH[e.op]
        if e.op == "+" and isinstance(left, tuple) and isinstance(right, tuple):
            return left + right
        if e.op == "+" and isinstance(left, str) and isinstance(right, str):
            return left + right
        if not (_numeric(left) and _numeric(right)):
            raise fail(
                "E211", f"cannot apply `{e.op}` to {describe(left)} and {describe(right)}", e.span
            )
        if e.op in ("/", "//", "%") and not is_symbolic(right) and right == 0:
            what = f": `{e.right.id}` is 0" if isinstance(e.right, ast.Name) else ""
            raise fail("E212", f"division by zero{what}", e.right.span)
        if e.op == "**" and _too_big_power(left, right):
            raise fail("E213", f"`{e.op}` gives a number too large to compute here", e.span)
        try:
            result = apply(fn, left, right)
        except (ArithmeticError, ValueError) as err:  # 0 ** -1, 2.0 ** 10000, ...
            reason = "the result is too large" if isinstance(err, OverflowError) else err
            raise fail(
                "E213",
                f"cannot compute `{e.op}` of {describe(left)} and {describe(right)}: {reason}",
                e.span,
            ) from None
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise fail("E213", f"`{e.op}` gives a number too large to compute here", e.span)
        return result

    def wants_hints(self) -> bool:
        """Whether a did-you-mean is still worth its scan of every name (see Context)."""
        return True

    def charge(self, span: Any) -> None:
        """Count one unit of work (see `Context.charge`); pure evaluation is not limited."""

    def fold(self, value: Any) -> Any:
        """Simplify a condition using what is known of the choices (see ChoiceEvaluator)."""
        return value

    def tensor_binop(self, e: ast.BinOp, left: Any, right: Any) -> Any:
        raise fail("E211", f"cannot apply `{e.op}` to tensors here", e.span)

    def _eval_if(self, e: ast.IfExpr, env: Env, hint: str | None = None) -> Any:
        test = self._truth(self.eval(e.test, env), e.test)
        if isinstance(test, Poison):
            return POISON
        if not is_symbolic(test):
            return self.eval(e.body if test else e.orelse, env, hint)
        return self.conditional(e, test, env, hint)

    def conditional(self, e: ast.IfExpr, test: Sym, env: Env, hint: str | None) -> Any:
        body, orelse = self.eval(e.body, env, hint), self.eval(e.orelse, env, hint)
        return apply("if", test, body, orelse)


_HINTED = {"if", "choice", "oneof", "pipe", "call", "repeat"}
# (evaluator class, node kind) -> (the `_eval_<kind>` function, takes a hint?): the
# interpreter's dispatch, looked up once instead of formatting a name per node.
_METHODS: dict[tuple[type, str], tuple[Any, bool]] = {}


def _member(family: Family, index: Any, e: ast.Index) -> Any:
    key = str(index) if isinstance(index, (int, str)) and not isinstance(index, bool) else None
    if key in family.members:
        return family.members[key]
    known = ", ".join(f"[{k}]" for k in list(family.members)[:10])
    raise fail(
        "E205",
        f"`{family.name}` has no member [{key if key is not None else describe(index)}]",
        e.index.span,
        hint=f"it has {known}" if known else None,
    )


def _numeric(value: Any) -> bool:
    # `any` only for symbolic values: none, blocks and ops have type_of "any" too
    kind = type_of(value)
    return kind in ("int", "float", "bool") or (kind == "any" and is_symbolic(value))


def _too_big_power(base: Any, exponent: Any) -> bool:
    """Whether an integer power would have more than ~3000 digits (or take long)."""
    if (
        is_symbolic(base)
        or is_symbolic(exponent)
        or not isinstance(exponent, int)
        or not isinstance(base, int)
        or abs(base) < 2
    ):
        return False
    return exponent * base.bit_length() > MAX_INT_BITS


def comprehension_over_choices(e: ast.Comprehension, first: Any, env: Env) -> Any:
    """A comprehension whose first list depends on choices, as a `Comprehension`
    expression the compiler evaluates per config (`first` is that list's value)."""
    try:
        items = _SymbolicBody().build(e, list(e.clauses), env, first)
    except _PoisonSeen:
        return POISON  # an earlier mistake, already reported
    assert isinstance(items, Comprehension)
    free = {n: env.lookup(n) for n in _free_names(e) if _bound(env, n)}
    where = tuple((k, v) for k, v in sorted(free.items()) if is_symbolic(v))
    return comprehension(items.names, items.iterable, items.items, _source(e), where)


class _SymbolicBody(ExprEvaluator):
    """Evaluates a comprehension over a choice-dependent list once, with each loop
    variable bound to a `Var`: the body becomes an expression (arithmetic builds
    `Apply`s as everywhere else), and a filter a conditional. Only builtins can be
    called: the list is computed per config, so it cannot make layers."""

    def build(self, e: ast.Comprehension, clauses: list, env: Env, first: Any = None) -> Any:
        """The value of `clauses` and the element as an expression giving a tuple."""
        if not clauses:
            return (self._item(e.element, env),)
        clause, rest = clauses[0], clauses[1:]
        if isinstance(clause, ast.CompIf):
            test = self.eval(clause.test, env)
            if isinstance(test, Poison):
                raise _PoisonSeen
            if not is_symbolic(test):
                return self.build(e, rest, env) if test else ()
            return apply("if", test, self.build(e, rest, env), ())
        iterable = first if first is not None else self.eval(clause.iter, env)
        if isinstance(iterable, Poison):
            raise _PoisonSeen
        if not isinstance(iterable, tuple) and not (
            is_symbolic(iterable) and iterable.type in ("list", "any")
        ):
            raise fail(
                "E207",
                f"cannot loop over {describe(iterable)}",
                clause.iter.span,
                hint="loops need a list or a range",
            )
        kind = _item_type(iterable) if len(clause.targets) == 1 else "any"
        names = tuple(Var(n, kind) for n in clause.targets)
        inner = env.child(dict(zip(clause.targets, names, strict=True)))
        return comprehension(names, iterable, self.build(e, rest, inner))

    def _item(self, element: ast.Node, env: Env) -> Any:
        value = self.eval(element, env)
        if isinstance(value, Poison):
            raise _PoisonSeen
        if not _plain(value):
            raise fail(
                "E207",
                "the items of a list computed from a choice must be numbers, strings, "
                f"bools or lists of them, got {describe(value)}",
                element.span,
            )
        return value

    def _eval_call(self, e: ast.Call, env: Env, hint: str | None = None) -> Any:
        from archc.dsl.values import BuiltinFn

        fn = self.eval(e.func, env)
        if not isinstance(fn, (BuiltinFn, Poison)):
            raise fail(
                "E223",
                f"cannot call {describe(fn)} in a list computed from a choice",
                e.span,
                hint="only builtin functions can be called here: the list is computed per "
                "config, so it cannot make layers",
            )
        return super()._eval_call(e, env, hint)


def _plain(value: Any) -> bool:
    """A value an IR expression can hold: a number, string, bool, none, a list of them,
    or a symbolic value."""
    if isinstance(value, tuple):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str, Sym))


def _item_type(iterable: Any) -> str:
    """The type of the items of a list, as far as it is known before a config is."""
    if isinstance(iterable, tuple):
        kinds = {type_of(v) for v in iterable}
        return kinds.pop() if len(kinds) == 1 else "any"
    if isinstance(iterable, Apply) and iterable.fn in ("divisors", "range"):
        return "int"
    return "any"


def _source(e: ast.Comprehension) -> str:
    """The comprehension as written, for messages (`archc fmt`'s printer, which prints
    every expression)."""
    from archc.dsl import fmt_expr  # only needed to print comprehensions

    return fmt_expr.render(fmt_expr.expr(e))


def _bound(env: Env, name: str) -> bool:
    try:
        env.lookup(name)
    except KeyError:
        return False
    return True


def _free_names(node: Any) -> set[str]:
    """Every `Name` mentioned under `node` (a superset of its free variables)."""
    if isinstance(node, ast.Name):
        return {node.id}
    out: set[str] = set()
    if isinstance(node, ast.Node):
        for field in type(node).model_fields:
            out |= _free_names(getattr(node, field))
    elif isinstance(node, tuple):
        for item in node:
            out |= _free_names(item)
    return out


__all__ = ["ArchError", "Env", "ExprEvaluator"]
