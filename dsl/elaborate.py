"""Statements and spaces: running a `space`/`net` body into an `Elaborated` graph.

Statements run in order. `let` binds (shadowing is allowed); `scope` only
prefixes names, so its bindings stay visible after it; `assert` checks now, or
per config when it depends on choices; a failing statement is reported, its
name bound to `POISON`, and elaboration goes on, so independent mistakes are
all reported in one run.
"""

from __future__ import annotations

from typing import Any

from archc.dsl import ast
from archc.dsl.choices import ChoiceEvaluator
from archc.dsl.context import Context
from archc.dsl.dead_code import unused_inputs, unused_warnings
from archc.dsl.expressions import Env
from archc.dsl.loops import LoopStatements
from archc.dsl.program import CheckSpec, Elaborated
from archc.dsl.values import POISON, Poison, Tensor, describe
from archc.kernel.diagnostics import ArchError, fail, shown_number, suggest
from archc.kernel.specs import METRICS, ConstraintSpec
from archc.kernel.symbolic import apply, is_symbolic

_TIME_UNITS_MS = {"ms": 1.0, "us": 1e-3, "s": 1e3}
_BLOCK_ONLY = {"return": "a `space` names its results with `output NAME = ...`"}
_SPACE_ONLY = {
    "input": "inputs of a block are its parameters",
    "output": "a block gives its result with `return`",
    "constraint": "constraints belong to a `space`",
}


class Elaborator(LoopStatements, ChoiceEvaluator):
    """Runs the statements of a `space`, `net` or `block` body into a `Context`.

    The expression evaluators it inherits (`ChoiceEvaluator` -> `CallEvaluator` ->
    `ExprEvaluator`) turn each expression into a value; `LoopStatements` adds `let` and
    `for`; this class adds the other statements and block bodies. What it elaborates ends
    up in `ctx` (nodes, choices, constraints), not in a return value.
    """

    def __init__(self, ctx: Context, modules: Any):
        self.ctx = ctx
        self.modules = modules  # archc.dsl.modules.Modules
        self.prelude = modules.prelude_ops()

    def globals_of(self, module: str) -> Env:
        return self.modules.globals_of(module)

    # ---- bodies
    def run_block_body(self, decl: ast.BlockDecl, env: Env) -> Any:
        result: Any = _NO_RETURN
        for stmt in decl.body:
            if result is not _NO_RETURN:
                raise fail(
                    "E260",
                    "statements after `return` are never used",
                    stmt.span,
                    hint="`return` must be the last statement of a block; move this "
                    "before it or delete it",
                )
            if isinstance(stmt, ast.Return):
                result = self._guarded_eval(stmt.value, env)
            else:
                self.run(stmt, env, in_block=True)
        if result is _NO_RETURN:
            if any(isinstance(s, ast.Output) for s in decl.body):
                return POISON  # the misplaced `output` was reported, with the fix
            last = decl.body[-1] if decl.body else None
            raise fail(
                "E261",
                f"block `{decl.name}` does not return a value",
                decl.span,
                hint=f"end the block with `return {last.name}`"
                if isinstance(last, ast.Let)
                else "end the block with `return ...`",
            )
        return result

    def run_all(self, stmts: tuple, env: Env, in_block: bool) -> None:
        for stmt in stmts:
            self.run(stmt, env, in_block)

    def run(self, stmt: ast.Node, env: Env, in_block: bool) -> None:
        misplaced = (_SPACE_ONLY if in_block else _BLOCK_ONLY).get(stmt.kind)
        if misplaced:
            where = "a block" if in_block else "a space"
            self.ctx.report(
                fail("E262", f"`{stmt.kind}` is not allowed in {where}", stmt.span, hint=misplaced)
            )
            if isinstance(stmt, ast.Input):
                env.bind(stmt.name, POISON)  # uses of it would only repeat the mistake
            return
        try:
            try:
                getattr(self, f"_run_{stmt.kind}")(stmt, env, in_block)
            except RecursionError:  # before MAX_DEPTH: deep expressions, long block chains
                raise fail(
                    "E306",
                    "this statement nests blocks or expressions too deeply",
                    stmt.span,
                    hint="is a block calling itself?",
                ) from None
        except ArchError as err:
            self.ctx.report(_with_trace(err, self.ctx))
            for name in _bound_names(stmt):
                env.bind(name, POISON)  # later uses would only repeat the mistake

    def _guarded_eval(self, expr: ast.Node, env: Env, hint: str | None = None) -> Any:
        try:
            return self.eval(expr, env, hint)
        except ArchError as err:
            self.ctx.report(_with_trace(err, self.ctx))
            return POISON

    # ---- statements
    def _run_let(self, s: ast.Let, env: Env, in_block: bool) -> None:
        self.bind_let(s, env, record=not in_block)

    def _run_assert(self, s: ast.Assert, env: Env, in_block: bool) -> None:
        test = self._truth(self.eval(s.test, env), s.test)
        message = self.eval(s.message, env) if s.message else "assertion failed"
        if isinstance(test, Poison) or isinstance(message, Poison):
            return
        if not isinstance(message, str):
            raise fail(
                "E263", f"assert message must be a string, got {describe(message)}", s.message.span
            )
        if is_symbolic(test):
            self._assert_for_every_config(test, message, s)
        elif not test:
            raise fail("E264", f"assertion failed: {message}" if s.message else message, s.span)

    def _assert_for_every_config(self, test: Any, message: str, s: ast.Assert) -> None:
        """Check now over all configs when possible; else leave it to the compiler.
        An assert in a guarded stage (a `oneof` candidate, a conditional) binds only
        the configs that compute the stage."""
        if self.ctx.guard is not True:
            test = apply("or", apply("not", self.ctx.guard), test)
        outcomes = self.outcomes(test)
        if outcomes is None:
            self.ctx.checks.append(CheckSpec(test, message, s.span, tuple(self.ctx.trace)))
            return
        failing = next((config for config, ok in outcomes if not ok), None)
        if failing is not None:
            when = ", ".join(f"`{k}` = {v!r}" for k, v in failing.items())
            raise fail(
                "E264",
                f"assertion failed when {when}: {message}",
                s.span,
                hint="restrict the choices so that every config is valid, e.g. a "
                "domain computed from the other choice",
            )

    def _run_scope(self, s: ast.Scope, env: Env, in_block: bool) -> None:
        label = self.ctx.claim_label(self.label_text(s.label, env), s.label.span)
        shares = None
        if s.shares is not None:
            target = self.label_text(s.shares, env)
            if target == label:  # `scope f[t] shares weights with f[1]` in a loop, at t = 1
                target = None
            elif not self.ctx.has_label(target):
                raise fail(
                    "E273",
                    f"`shares weights with {target}`: no scope `{target}` was "
                    "created before this one",
                    s.shares.span,
                    hint="weights are shared with an earlier sibling scope, e.g. "
                    "`scope f[1] shares weights with f[0] { ... }`",
                )
            shares = ".".join([*self.ctx.scope, target]) if target else None
        with self.ctx.enter(label, s.span, shares=shares):
            self.run_all(s.body, env, in_block)

    def _run_input(self, s: ast.Input, env: Env, in_block: bool) -> None:
        shape = self.eval(s.shape, env)
        if not (
            isinstance(shape, tuple)
            and len(shape) == 3
            and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        ):
            raise fail(
                "E265",
                f"input shape must be [channels, height, width] with positive "
                f"integers, got {_shown_shape(shape)}",
                s.shape.span,
                hint="e.g. `input image: [3, 256, 192]` (the batch size is not written)",
            )
        key = self.member_key(s.name, s.index, env) if s.index else None
        name = s.name if key is None else f"{s.name}[{key}]"
        tensor = self.ctx.add_node("input", None, name, {"shape": shape}, (), s.span)
        self.ctx.inputs.append((name, tensor.node))
        if key is None:
            env.bind(s.name, tensor)
        else:
            self.bind_member(s.name, key, tensor, env, s.span)
        self.ctx.inputs_declared.append((name, s.span, tensor))

    def _run_output(self, s: ast.Output, env: Env, in_block: bool) -> None:
        value = self.eval(s.value, env)
        if isinstance(value, Poison):
            return
        if not isinstance(value, Tensor):
            raise fail("E266", f"an output must be a tensor, got {describe(value)}", s.value.span)
        name = f"{s.name}[{self.member_key(s.name, s.index, env)}]" if s.index else s.name
        if any(known == name for known, _ in self.ctx.outputs):
            raise fail("E267", f"output `{name}` is defined twice", s.span)
        self.ctx.outputs.append((name, value.node))

    def _run_constraint(self, s: ast.Constraint, env: Env, in_block: bool) -> None:
        m = s.metric
        if m.name not in METRICS:
            raise fail(
                "E268",
                f"unknown metric `{m.name}`",
                m.span,
                hint=_METRIC_HINTS.get(m.name.lower())
                or suggest(m.name, METRICS)
                or f"metrics are {', '.join(METRICS)}",
            )
        if m.name == "latency" and m.arg is None:
            raise fail(
                "E269",
                "`latency` needs a device",
                m.span,
                hint="write `latency(cpu)` (or the device the budget is for)",
            )
        if m.name != "latency" and m.arg is not None:
            raise fail(
                "E269",
                f"`{m.name}` takes no device; only `latency` does",
                m.span,
                hint=f"write `constraint {m.name} <= ...`",
            )
        if s.op not in _BOUND_OPS:
            raise fail(
                "E272",
                f"a constraint is a bound: `{s.op}` is not allowed",
                s.span,
                hint="use `<=`, `<`, `>=` or `>`",
            )
        bound = self._bound(s, env)
        scope = ".".join([*self.ctx.scope, self.label_text(m.scope, env)]) if m.scope else None
        self.ctx.constraints.append(
            ConstraintSpec(
                metric=m.name, device=m.arg, scope=scope, op=s.op, bound=bound, span=s.span
            )
        )

    def _bound(self, s: ast.Constraint, env: Env) -> float:
        b = s.bound
        is_time = s.metric.name == "latency"
        if isinstance(b, ast.Number) and b.unit is not None:
            if not is_time:
                raise fail(
                    "E270",
                    f"`{s.metric.name}` is a count; `{b.text}` is a duration",
                    b.span,
                    hint="bound it by a count such as `300M`; a time budget "
                    "is `constraint latency(cpu) <= 30ms`",
                )
            return b.value * _TIME_UNITS_MS[b.unit]
        if is_time:
            raise fail(
                "E270",
                "a latency bound needs a unit: `ms`, `us` or `s`",
                b.span,
                hint="e.g. `constraint latency(cpu) <= 30ms`",
            )
        value = self.eval(b, env)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise fail(
                "E270",
                f"a constraint bound must be a non-negative number known at "
                f"compile time, got {describe(value)}",
                b.span,
            )
        return value


_NO_RETURN = object()
_BOUND_OPS = ("<=", "<", ">=", ">")
_METRIC_HINTS = {
    "flops": "archc counts multiply-accumulates: use `macs` (1 MAC is 2 FLOPs)",
    "gflops": "archc counts multiply-accumulates: use `macs` (1 MAC is 2 FLOPs)",
    "time": "write `latency(cpu)`",
}


def _with_trace(err: ArchError, ctx: Context) -> ArchError:
    """Add 'in block instantiated here' notes for errors inside block bodies."""
    if not ctx.trace:
        return err
    site = ctx.trace[-1]
    return ArchError(
        [
            d.with_note("in the block instantiated here", site) if not d.notes else d
            for d in err.diagnostics
        ]
    )


def _has_output(stmts: tuple) -> bool:
    """Whether an `output` is written (one whose value failed was reported already)."""
    return any(
        isinstance(s, ast.Output) or (isinstance(s, (ast.Scope, ast.For)) and _has_output(s.body))
        for s in stmts
    )


def _bound_names(stmt: ast.Node) -> list[str]:
    """Names a statement binds: a `let`/`input`, or everything inside a `scope`/`for`."""
    if isinstance(stmt, ast.Let) and stmt.unpack:
        return list(stmt.unpack)
    if isinstance(stmt, (ast.Let, ast.Input)):
        return [stmt.name]
    if isinstance(stmt, (ast.Scope, ast.For)):
        return [n for s in stmt.body for n in _bound_names(s)]
    return []


def _check_constraint_scopes(ctx: Context) -> None:
    """`constraint macs in frame[1]` must name a scope that holds part of the network."""
    for c in ctx.constraints:
        if c.scope and not any(n.name.startswith(c.scope + ".") for n in ctx.nodes):
            ctx.report(
                fail(
                    "E274",
                    f"no part of the network is in scope `{c.scope}`",
                    c.span,
                    hint="name a `scope` or block instance that holds ops",
                )
            )


def elaborate_space(decl: ast.SpaceDecl, modules: Any) -> tuple[Elaborated, list]:
    """Run one `space`/`net`; returns the graph and the diagnostics found."""
    ctx = Context(decl.name, decl.is_net)
    elaborator = Elaborator(ctx, modules)
    env = modules.globals_of(decl.span.file).child()
    elaborator.run_all(decl.body, env, in_block=False)
    _check_constraint_scopes(ctx)
    if not ctx.outputs and not ctx.diagnostics and not _has_output(decl.body):
        ctx.report(
            fail(
                "E271",
                f"`{decl.name}` has no `output`",
                decl.span,
                hint="name the result: `output heatmaps = x`",
            )
        )
    if not ctx.diagnostics:  # after an error, what is unused says little
        used = [n for _, n in ctx.outputs] + sorted(ctx.passed_to_blocks)
        warnings = unused_warnings(ctx.bindings, ctx.nodes, used)
        warnings += unused_inputs(ctx.inputs_declared, ctx.nodes, used)
        ctx.diagnostics += sorted(warnings, key=lambda d: (d.span.line, d.span.column))
    result = Elaborated(
        name=decl.name,
        is_net=decl.is_net,
        doc=decl.doc,
        nodes=tuple(ctx.nodes),
        choices=tuple(ctx.choices.values()),
        inputs=tuple(ctx.inputs),
        outputs=tuple(ctx.outputs),
        constraints=tuple(ctx.constraints),
        checks=tuple(ctx.checks),
        span=decl.span,
    )
    return result, ctx.diagnostics


def _shown_shape(shape: object) -> str:
    """A wrong input shape as written (`[0, 16, 16]`) when it is a short list of numbers."""
    if (
        isinstance(shape, tuple)
        and len(shape) <= 8
        and all(isinstance(d, (int, float)) and not isinstance(d, bool) for d in shape)
    ):
        return "[" + ", ".join(shown_number(d) for d in shape) + "]"
    return describe(shape)
