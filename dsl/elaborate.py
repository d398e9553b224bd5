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
from archc.dsl.diagnostics import ArchError, fail, suggest
from archc.dsl.evaluate import Env
from archc.dsl.program import METRICS, CheckSpec, ConstraintSpec, Elaborated
from archc.dsl.symbolic import is_symbolic
from archc.dsl.values import POISON, Poison, Tensor, describe

_TIME_UNITS_MS = {"ms": 1.0, "us": 1e-3, "s": 1e3}
_BLOCK_ONLY = {"return": "a `space` names its results with `output NAME = ...`"}
_SPACE_ONLY = {"input": "inputs of a block are its parameters",
               "output": "a block gives its result with `return`",
               "constraint": "constraints belong to a `space`"}


class Evaluator(ChoiceEvaluator):
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
                raise fail("E260", "statements after `return` are never used", stmt.span)
            if isinstance(stmt, ast.Return):
                result = self._guarded_eval(stmt.value, env)
            else:
                self.run(stmt, env, in_block=True)
        if result is _NO_RETURN:
            raise fail("E261", f"block `{decl.name}` does not return a value", decl.span,
                       hint="end the block with `return ...`")
        return result

    def run_all(self, stmts: tuple, env: Env, in_block: bool) -> None:
        for stmt in stmts:
            self.run(stmt, env, in_block)

    def run(self, stmt: ast.Node, env: Env, in_block: bool) -> None:
        misplaced = (_SPACE_ONLY if in_block else _BLOCK_ONLY).get(stmt.kind)
        if misplaced:
            where = "a block" if in_block else "a space"
            self.ctx.report(fail("E262", f"`{stmt.kind}` is not allowed in {where}", stmt.span,
                                 hint=misplaced))
            return
        try:
            getattr(self, f"_run_{stmt.kind}")(stmt, env, in_block)
        except ArchError as err:
            self.ctx.report(_with_trace(err, self.ctx))
            if isinstance(stmt, (ast.Let, ast.Input)):
                env.vars[stmt.name] = POISON

    def _guarded_eval(self, expr: ast.Node, env: Env, hint: str | None = None) -> Any:
        try:
            return self.eval(expr, env, hint)
        except ArchError as err:
            self.ctx.report(_with_trace(err, self.ctx))
            return POISON

    # ---- statements
    def _run_let(self, s: ast.Let, env: Env, in_block: bool) -> None:
        env.vars[s.name] = self.eval(s.value, env, s.name)

    def _run_assert(self, s: ast.Assert, env: Env, in_block: bool) -> None:
        test = self._truth(self.eval(s.test, env), s.test)
        message = self.eval(s.message, env) if s.message else "assertion failed"
        if isinstance(test, Poison) or isinstance(message, Poison):
            return
        if not isinstance(message, str):
            raise fail("E263", f"assert message must be a string, got {describe(message)}",
                       s.message.span)
        if is_symbolic(test):
            self.ctx.checks.append(CheckSpec(cond=test, message=message, span=s.span))
        elif not test:
            raise fail("E264", message, s.span)

    def _run_scope(self, s: ast.Scope, env: Env, in_block: bool) -> None:
        label = self.ctx.claim_label(self.label_text(s.label, env), s.label.span)
        shares = None
        if s.shares is not None:
            shares = ".".join([*self.ctx.scope, self.label_text(s.shares, env)])
        with self.ctx.enter(label, s.span, shares=shares):
            self.run_all(s.body, env, in_block)

    def _run_input(self, s: ast.Input, env: Env, in_block: bool) -> None:
        shape = self.eval(s.shape, env)
        if not (isinstance(shape, tuple) and len(shape) == 3 and
                all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
            raise fail("E265", f"input shape must be [channels, height, width] with positive "
                       f"integers, got {describe(shape)}", s.shape.span,
                       hint="e.g. `input image: [3, 256, 192]` (the batch size is not written)")
        tensor = self.ctx.add_node("input", None, s.name, {"shape": shape}, (), s.span)
        self.ctx.inputs.append((s.name, tensor.node))
        env.vars[s.name] = tensor

    def _run_output(self, s: ast.Output, env: Env, in_block: bool) -> None:
        value = self.eval(s.value, env)
        if isinstance(value, Poison):
            return
        if not isinstance(value, Tensor):
            raise fail("E266", f"an output must be a tensor, got {describe(value)}",
                       s.value.span)
        if any(name == s.name for name, _ in self.ctx.outputs):
            raise fail("E267", f"output `{s.name}` is defined twice", s.span)
        self.ctx.outputs.append((s.name, value.node))

    def _run_constraint(self, s: ast.Constraint, env: Env, in_block: bool) -> None:
        m = s.metric
        if m.name not in METRICS:
            raise fail("E268", f"unknown metric `{m.name}`", m.span,
                       hint=suggest(m.name, METRICS) or f"metrics are {', '.join(METRICS)}")
        if (m.name == "latency") != (m.arg is not None):
            raise fail("E269", "write `latency(cpu)`: latency needs a device; `macs` and "
                       "`params` take none", m.span)
        bound = self._bound(s, env)
        scope = ".".join([*self.ctx.scope, self.label_text(m.scope, env)]) if m.scope else None
        self.ctx.constraints.append(ConstraintSpec(metric=m.name, device=m.arg, scope=scope,
                                                   op=s.op, bound=bound, span=s.span))

    def _bound(self, s: ast.Constraint, env: Env) -> float:
        b = s.bound
        is_time = s.metric.name == "latency"
        if isinstance(b, ast.Number) and b.unit is not None:
            if not is_time:
                raise fail("E270", f"`{s.metric.name}` is a count; `{b.text}` is a duration",
                           b.span)
            return b.value * _TIME_UNITS_MS[b.unit]
        if is_time:
            raise fail("E270", "a latency bound needs a unit: `ms`, `us` or `s`", b.span,
                       hint="e.g. `constraint latency(cpu) <= 30ms`")
        value = self.eval(b, env)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise fail("E270", f"a constraint bound must be a non-negative number known at "
                       f"compile time, got {describe(value)}", b.span)
        return value


_NO_RETURN = object()


def _with_trace(err: ArchError, ctx: Context) -> ArchError:
    """Add 'in block instantiated here' notes for errors inside block bodies."""
    if not ctx.trace:
        return err
    site = ctx.trace[-1]
    return ArchError([d.with_note("in the block instantiated here", site)
                      if not d.notes else d for d in err.diagnostics])


def elaborate_space(decl: ast.SpaceDecl, modules: Any) -> tuple[Elaborated, list]:
    """Run one `space`/`net`; returns the graph and the diagnostics found."""
    ctx = Context(decl.name, decl.is_net)
    evaluator = Evaluator(ctx, modules)
    env = modules.globals_of(decl.span.file).child()
    evaluator.run_all(decl.body, env, in_block=False)
    if not ctx.outputs and not ctx.diagnostics:
        ctx.report(fail("E271", f"`{decl.name}` has no `output`", decl.span,
                        hint="name the result: `output heatmaps = x`"))
    result = Elaborated(name=decl.name, is_net=decl.is_net, doc=decl.doc,
                        nodes=tuple(ctx.nodes), choices=tuple(ctx.choices.values()),
                        inputs=tuple(ctx.inputs), outputs=tuple(ctx.outputs),
                        constraints=tuple(ctx.constraints), checks=tuple(ctx.checks),
                        span=decl.span)
    return result, ctx.diagnostics
