"""Calls and pipes: binding arguments, instantiating blocks, recording op nodes.

`x -> f(a, k=b)` is `f(x, a, k=b)`. A block call runs the block's body in a
new naming scope; an op call adds one `op` node whose inputs are its tensor
arguments and whose attrs are the rest. Arguments are type-checked against
the declared parameters, so mistakes are reported at the argument.
"""

from __future__ import annotations

from typing import Any

from archc.dsl import ast
from archc.dsl.bounds import check_bounds
from archc.dsl.builtins import BuiltinError
from archc.dsl.expressions import Env, ExprEvaluator
from archc.dsl.program import CheckSpec
from archc.dsl.types import matches
from archc.dsl.values import (
    POISON,
    BlockFn,
    BuiltinFn,
    OpChoice,
    OpFn,
    Poison,
    Template,
    Tensor,
    callable_name,
    describe,
    is_callable,
)
from archc.kernel.diagnostics import ArchError, fail, suggest
from archc.kernel.symbolic import Sym, apply, is_symbolic, type_of

_MISSING = object()


class CallEvaluator(ExprEvaluator):
    """Adds calls, pipes and tensor arithmetic to expression evaluation."""

    ctx: Any  # archc.dsl.context.Context
    prelude: dict[str, Any]

    @property
    def good_defaults(self) -> set[int]:
        """Ids of the parameters whose literal default passed its type and bound checks
        in this elaboration: a constant passes them at every call, so they run once.
        (Per elaboration: the modules, and so the ids, live as long as it does.)"""
        try:
            return self._good_defaults
        except AttributeError:
            self._good_defaults: set[int] = set()
            return self._good_defaults

    def globals_of(self, module: str) -> Env:
        raise NotImplementedError  # provided by the elaborator

    # ---- expressions
    def _eval_call(self, e: ast.Call, env: Env, hint: str | None = None) -> Any:
        fn = self.eval(e.func, env)
        return self.call(fn, e, env, piped=_MISSING)

    def _eval_pipe(self, e: ast.Pipe, env: Env, hint: str | None = None) -> Any:
        value = self.eval(e.source, env)
        return self.apply_stage(e.stage, value, env, hint)

    def tensor_binop(self, e: ast.BinOp, left: Any, right: Any) -> Any:
        ops = {"+": "add", "*": "mul"}
        if e.op not in ops or not (isinstance(left, Tensor) and isinstance(right, Tensor)):
            raise fail(
                "E211",
                f"cannot apply `{e.op}` to {describe(left)} and {describe(right)}",
                e.span,
                hint="tensors support `+` (add) and `*` (elementwise multiply)",
            )
        decl = self.prelude[ops[e.op]].decl
        return self.record_op(decl, {"xs": (left, right)}, self.ctx.auto_label(ops[e.op]), e)

    # ---- stages
    def apply_stage(self, stage: ast.Node, value: Any, env: Env, hint: str | None) -> Any:
        if isinstance(value, Poison):
            return POISON
        if isinstance(stage, ast.Call):
            return self.call(self.eval(stage.func, env), stage, env, piped=value)
        if isinstance(stage, ast.IfExpr):
            return self._conditional_stage(stage, value, env, hint)
        if isinstance(stage, ast.Pipe):  # `x -> (a -> b)`: a parenthesised chain is a stage
            value = self.apply_stage(stage.source, value, env, None)
            return self.apply_stage(stage.stage, value, env, hint)
        if isinstance(stage, ast.Repeat):
            return self.apply_repeat(stage, value, env)
        if isinstance(stage, (ast.Name, ast.Attribute, ast.Index, ast.OneOf)):
            fn = (
                self.eval(stage, env, hint)
                if isinstance(stage, ast.OneOf)
                else self.eval(stage, env)
            )
            return self.call(fn, stage, env, piped=value)
        raise fail(
            "E220",
            "`->` must be followed by an op, a block, a call, `oneof` or `repeat`",
            stage.span,
        )

    def apply_chain(self, stages: tuple, value: Any, env: Env) -> Any:
        for stage in stages:
            value = self.apply_stage(stage, value, env, None)
        return value

    def _conditional_stage(self, stage: ast.IfExpr, value: Any, env: Env, hint) -> Any:
        test = self._truth(self.eval(stage.test, env), stage.test)
        if isinstance(test, Poison):
            return POISON
        if not is_symbolic(test):
            return self.apply_stage(stage.body if test else stage.orelse, value, env, hint)
        with self.ctx.guarded(test):
            then = self.apply_stage(stage.body, value, env, hint)
        with self.ctx.guarded(apply("not", test)):
            orelse = self.apply_stage(stage.orelse, value, env, hint)
        return self.select(test, then, orelse, stage)

    def conditional(self, e: ast.IfExpr, test: Sym, env: Env, hint: str | None) -> Any:
        with self.ctx.guarded(test):
            body = self.eval(e.body, env, hint)
        with self.ctx.guarded(apply("not", test)):
            orelse = self.eval(e.orelse, env, hint)
        return self.select(test, body, orelse, e)

    def select(
        self, test: Sym, then: Any, orelse: Any, node: ast.Node, bypass: str | None = None
    ) -> Any:
        """Merge two alternatives: a `select` node for tensors, a Sym otherwise.

        `bypass` names the repeat iteration a select skips, so the compiler can say
        which block changes the shape when it must not."""
        if isinstance(then, Poison) or isinstance(orelse, Poison):
            return POISON
        if isinstance(then, Tensor) and isinstance(orelse, Tensor):
            label = self.ctx.auto_label("select")
            attrs = {"cond": test} if bypass is None else {"cond": test, "bypass": bypass}
            return self.ctx.add_node(
                "select", None, label, attrs, (then.node, orelse.node), node.span
            )
        if (
            isinstance(then, tuple)
            and isinstance(orelse, tuple)
            and len(then) == len(orelse)
            and any(isinstance(v, Tensor) for v in then + orelse)
        ):
            pairs = zip(then, orelse, strict=True)
            return tuple(self.select(test, a, b, node, bypass) for a, b in pairs)
        if isinstance(then, Tensor) or isinstance(orelse, Tensor):
            raise fail(
                "E221",
                f"both branches must give tensors when the condition depends "
                f"on a choice; got {describe(then)} and {describe(orelse)}",
                node.span,
            )
        return apply("if", test, then, orelse)

    # ---- calls
    def call(self, fn: Any, site: ast.Node, env: Env, piped: Any) -> Any:
        if isinstance(fn, Poison) or isinstance(piped, Poison):
            return POISON
        args = site.args if isinstance(site, ast.Call) else ()
        keywords = site.keywords if isinstance(site, ast.Call) else ()
        label = site.label if isinstance(site, ast.Call) else None
        if isinstance(fn, BuiltinFn):
            return self._call_builtin(fn, site, args, keywords, env, piped)
        if isinstance(fn, (Template, OpChoice)):
            if args or keywords or piped is _MISSING:
                raise fail(
                    "E222",
                    f"`{callable_name(fn)}` is a stage: use it after `->` with no arguments",
                    site.span,
                )
            if isinstance(fn, Template):
                return self.apply_chain(fn.stages, piped, fn.env)
            return self.apply_op_choice(fn, piped, site, label)
        if not isinstance(fn, (BlockFn, OpFn)):
            func = site.func if isinstance(site, ast.Call) else site
            desc = "a tensor" if isinstance(fn, Tensor) else describe(fn)
            what = f"`{func.id}` is {desc}" if isinstance(func, ast.Name) else desc
            raise fail(
                "E223",
                f"{what}, which cannot be called",
                site.span,
                hint=f"to apply an op to `{func.id}`, pipe it: `{func.id} -> conv(...)`"
                if isinstance(fn, Tensor) and isinstance(func, ast.Name)
                else "only blocks, ops and builtins can be called",
            )
        label_text = self.label_text(label, env) if label else None
        inst = (
            self.ctx.claim_label(label_text, label.span)
            if label_text
            else self.ctx.auto_label(fn.decl.name)
        )
        bound, requires = self.bind(fn.decl, args, keywords, env, piped, site, inst)
        if isinstance(fn, OpFn):
            return self.record_op(fn.decl, bound, inst, site, requires)
        self.check_later(requires, site)
        return self.instantiate(fn, bound, inst, site)

    def check_later(self, requires: list[tuple[Any, str]], site: ast.Node) -> None:
        """Requirements on a block's arguments that need a config: per-config checks."""
        for cond, message in requires:
            self.ctx.checks.append(CheckSpec(cond, message, site.span, tuple(self.ctx.trace)))

    def wants_hints(self) -> bool:
        return self.ctx.wants_hints()

    def charge(self, span: Any) -> None:
        self.ctx.charge(span)

    def outcomes(self, value: Sym) -> list[tuple[dict[str, Any], Any]] | None:
        """`value` under every config of its choices, when that can be enumerated here
        (`ChoiceEvaluator` knows the choices)."""
        return None

    def _call_builtin(self, fn: BuiltinFn, site, args, keywords, env, piped) -> Any:
        values = [self.eval(a, env) for a in args]
        if piped is not _MISSING:
            values.insert(0, piped)
        kw = {k.name: self.eval(k.value, env) for k in keywords}
        if any(isinstance(v, Poison) for v in [*values, *kw.values()]):
            return POISON
        try:
            return fn.fn(*values, **kw)
        except BuiltinError as err:
            raise fail("E224", str(err), site.span) from None
        except TypeError as err:
            raise fail("E224", f"bad arguments to `{fn.name}`: {fn.doc}", site.span) from err
        except (ArithmeticError, ValueError) as err:  # int(1e400), float(10 ** 400), ...
            reason = "the number is too large" if isinstance(err, OverflowError) else err
            raise fail("E224", f"`{fn.name}` cannot compute this: {reason}", site.span) from None

    def bind(
        self, decl, args, keywords, env: Env, piped: Any, site: ast.Node, inst: str
    ) -> tuple[dict[str, Any], list[tuple[Any, str]]]:
        """Match arguments to parameters, evaluate them, apply defaults, check types and
        bounds; returns the arguments and the bound checks that need a config."""
        params = {p.name: p for p in decl.params}
        order = [p.name for p in decl.params]
        given: dict[str, tuple[Any, ast.Node]] = {}
        if piped is not _MISSING:
            if not order:
                raise fail(
                    "E225",
                    f"`{decl.name}` takes no input to pipe into",
                    site.span,
                    hint=f"call it on its own: `{decl.name}()`",
                )
            given[order[0]] = (piped, site)
        positional = order[len(given) :]
        if len(args) > len(positional):
            raise fail(
                "E225",
                f"`{decl.name}` takes {len(order)} argument"
                f"{'s' if len(order) != 1 else ''} but {len(args) + len(given)} "
                f"were given{' (counting the piped input)' if given else ''}",
                args[len(positional)].span,
                hint=_signature_hint(decl),
            )
        for name, arg in zip(positional, args, strict=False):
            given[name] = (self.eval(arg, env, f"{inst}.{name}"), arg)
        for kw in keywords:
            if kw.name not in params:
                raise fail(
                    "E226",
                    f"`{decl.name}` has no parameter `{kw.name}`",
                    kw.span,
                    hint=suggest(kw.name, params) or _signature_hint(decl),
                )
            if kw.name in given:
                raise fail(
                    "E227", f"parameter `{kw.name}` of `{decl.name}` is given twice", kw.span
                )
            given[kw.name] = (self.eval(kw.value, env, f"{inst}.{kw.name}"), kw.value)
        return self._complete(decl, params, given, site, inst)

    def _complete(self, decl, params, given, site, inst) -> tuple[dict, list]:
        missing = [p.name for p in decl.params if p.name not in given and p.default is None]
        if missing:
            names = ", ".join(f"`{m}`" for m in missing)
            raise fail(
                "E228",
                f"`{decl.name}` is missing argument{'s' if len(missing) > 1 else ''} {names}",
                site.span,
                hint=_signature_hint(decl),
            )
        bound: dict[str, Any] = {}
        requires: list[tuple[Any, str]] = []
        good = self.good_defaults
        for p in decl.params:
            if p.name in given:
                value, node = given[p.name]
            elif _is_literal(p.default):  # most defaults: `stride: int = 1`
                if id(p) in good:  # checked at its first use: a constant stays good
                    bound[p.name] = p.default.value
                    continue
                value, node = p.default.value, site
            else:
                module_env = self.globals_of(self.module_of(decl))
                value, node = self.eval(p.default, module_env, f"{inst}.{p.name}"), site
            if not matches(value, p.type):
                raise fail(
                    "E229",
                    f"argument `{p.name}` of `{decl.name}` must be {p.type.unbounded()}, got "
                    f"{describe(value)}",
                    node.span,
                    hint=_int_hint(value, p.type),
                )
            found = check_bounds(value, p, decl.name, node, self.outcomes)
            if not found and p.name not in given and _is_literal(p.default):
                good.add(id(p))
            requires += found
            bound[p.name] = value
        return bound, requires

    def module_of(self, decl: Any) -> str:
        return decl.span.file

    def record_op(
        self, decl: ast.OpDecl, bound: dict[str, Any], label: str, site: ast.Node, requires=()
    ) -> Any:
        if any(
            isinstance(v, Poison) or (isinstance(v, tuple) and POISON in v) for v in bound.values()
        ):
            return POISON
        inputs: list[int] = []
        attrs: dict[str, Any] = {}
        for p in decl.params:
            value = bound[p.name]
            if p.type.name == "tensor":
                inputs.append(value.node)
            elif p.type.name == "list" and p.type.args[0].name == "tensor":
                if not value:
                    raise fail(
                        "E230", f"`{decl.name}` needs at least one tensor in `{p.name}`", site.span
                    )
                inputs.extend(t.node for t in value)
            else:
                attrs[p.name] = value
        return self.ctx.add_node(
            "op", decl.name, label, attrs, tuple(inputs), site.span, tuple(requires)
        )

    def instantiate(self, fn: BlockFn, bound: dict[str, Any], inst: str, site) -> Any:
        if any(isinstance(v, Poison) for v in bound.values()):
            return POISON
        env = self.globals_of(fn.module).child(bound)
        self.ctx.charge(site.span)
        self.ctx.passed_to_blocks.update(_tensor_nodes(bound.values()))
        with self.ctx.enter(inst, site.span, call=True):
            result = self.run_block_body(fn.decl, env)
        if fn.decl.returns is not None and not matches(result, fn.decl.returns):
            raise fail(
                "E231",
                f"block `{fn.decl.name}` must return {fn.decl.returns}, but "
                f"returned {describe(result)}",
                fn.decl.returns.span,
                hint=_int_hint(result, fn.decl.returns),
            )
        return result

    def run_block_body(self, decl: ast.BlockDecl, env: Env) -> Any:
        raise NotImplementedError  # provided by the elaborator

    def label_text(self, label: ast.Label, env: Env) -> str:
        """`b` or `e[0,2]`: indices are evaluated and must be known ints or strings."""
        parts = []
        for idx in label.indices:
            value = self.eval(idx, env)
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise fail(
                    "E232",
                    f"label index must be an int or a string known at compile "
                    f"time, got {describe(value)}",
                    idx.span,
                )
            parts.append(str(value))
        return f"{label.name}[{','.join(parts)}]" if parts else label.name


def _is_literal(expr: ast.Node) -> bool:
    """A default that is its own value: no need to evaluate it for every call."""
    return expr.kind in ("string", "bool") or (expr.kind == "number" and expr.unit is None)


def _tensor_nodes(values: Any):
    """Node ids of the tensors among (nested lists of) values."""
    for value in values:
        if isinstance(value, Tensor):
            yield value.node
        elif isinstance(value, tuple):
            yield from _tensor_nodes(value)


def _int_hint(value: Any, expected: ast.TypeRef) -> str | None:
    """The usual cause of a float where an int belongs: `/`."""
    if expected.name == "int" and type_of(value) == "float":
        return "`/` always gives a float; use `//` for integer division, or `int(...)`"
    return None


def _signature_hint(decl) -> str:
    params = ", ".join(
        f"{p.name}: {p.type}" + (" = ..." if p.default is not None else "") for p in decl.params
    )
    return f"signature: {decl.name}({params})"


__all__ = ["ArchError", "CallEvaluator", "is_callable"]
