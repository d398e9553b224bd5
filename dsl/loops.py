"""Statement loops and the bindings they make: `for`, indexed names, unpacking.

`for t in 1..T { ... }` runs its statements once per item of a list known at
compile time, so scopes (with `shares weights with`), inputs and outputs can be
generated: a video model says its number of frames once. The loop variable is
local to the body; every other binding made inside (`let`, `input`) stays
visible after the loop, as a `scope`'s do, so `let h = ... h ...` threads a
value through the iterations.

An indexed name collects one value per index: `input image[t]: ...` declares
the inputs `image[1]`, `image[2]`, ... and `let h[t] = ...` binds member `t` of
the family `h`; `image[t]` and `h[t - 1]` read them back. `let a, b = pair`
unpacks a list.
"""

from __future__ import annotations

from typing import Any

from archc.dsl import ast
from archc.dsl.expressions import Env
from archc.dsl.values import POISON, Family, Poison, describe
from archc.kernel.diagnostics import fail
from archc.kernel.symbolic import is_symbolic


class LoopEnv(Env):
    """The environment of one iteration: the loop variables here, every other
    binding in the enclosing environment (so it outlives the loop)."""

    def bind(self, name: str, value: Any) -> None:
        assert self.parent is not None  # binding a loop variable was refused before the loop
        self.parent.bind(name, value)


class LoopStatements:
    """The `for` statement and the binding forms; mixed into the elaborator."""

    ctx: Any
    eval: Any
    label_text: Any
    run_all: Any
    charge: Any

    def _run_for(self, s: ast.For, env: Env, in_block: bool) -> None:
        items = self.eval(s.iter, env)
        if isinstance(items, Poison):  # reported: what the body binds is broken too
            for stmt in _statements(s.body):
                if isinstance(stmt, (ast.Let, ast.Input)):
                    for name in getattr(stmt, "unpack", ()) or (stmt.name,):
                        env.bind(name, POISON)
            return
        if not isinstance(items, tuple) or is_symbolic(items):
            raise fail(
                "E276",
                f"a `for` statement loops over a list known at compile time, not {describe(items)}",
                s.iter.span,
                hint="for a number of layers that is a choice use `x -> repeat(n) { ... }`"
                if is_symbolic(items)
                else "to count, loop over a range: `for t in 1..n` or `for t in range(n)`",
            )
        _refuse_rebinding(s)
        start = len(self.ctx.nodes)
        for i, item in enumerate(items):
            self.charge(s.span)
            if i == 1:
                self.ctx.project(len(self.ctx.nodes) - start, len(items) - 1, s.span)
            self.run_all(s.body, LoopEnv(unpack(s.targets, item, s), env), in_block)

    def bind_let(self, s: ast.Let, env: Env, record: bool) -> None:
        """Bind what `s` computes; `record` keeps (name, span, value) for the unused-value
        warnings (`archc.dsl.dead_code`) of a space's own statements."""
        if s.unpack:
            bound = unpack(s.unpack, self.eval(s.value, env), s)
            for name, item in bound.items():
                env.bind(name, item)
        elif not s.index:
            bound = {s.name: self.eval(s.value, env, s.name)}
            env.bind(s.name, bound[s.name])
        else:
            key = self.member_key(s.name, s.index, env)
            bound = {f"{s.name}[{key}]": self.eval(s.value, env, f"{s.name}[{key}]")}
            self.bind_member(s.name, key, bound[f"{s.name}[{key}]"], env, s.span)
        if record:
            self.ctx.bindings += [(name, s.span, value) for name, value in bound.items()]

    def member_key(self, name: str, index: tuple, env: Env) -> Any:
        """The key of `name[i]`: one int or string known at compile time."""
        if len(index) != 1:
            raise fail("E277", f"`{name}[...]` takes one index", index[1].span)
        text = self.label_text(ast.Label(span=index[0].span, name=name, indices=index), env)
        return text[len(name) + 1 : -1]

    def bind_member(self, name: str, key: str, value: Any, env: Env, span: Any) -> None:
        try:
            family = env.lookup(name)
        except KeyError:
            family = Family(name, {})
        if isinstance(family, Poison):
            return
        if not isinstance(family, Family):
            raise fail(
                "E277",
                f"`{name}` is {describe(family)}, not a family of indexed values",
                span,
                hint=f"`{name}[i]` binds one member of a family; use another name",
            )
        env.bind(name, family.with_member(key, value))


def _refuse_rebinding(s: ast.For) -> None:
    """A `let` of a loop variable inside the loop would bind it for after the loop
    while the body still reads the loop's value: refuse it."""
    for stmt in _statements(s.body):
        names = ()
        if isinstance(stmt, (ast.Let, ast.Input)):
            names = getattr(stmt, "unpack", ()) or (stmt.name,)
        clash = next((n for n in names if n in s.targets), None)
        if clash is not None:
            raise fail(
                "E275",
                f"`{clash}` is the loop variable here and cannot be bound again",
                stmt.span,
                hint="choose another name for the binding",
            )


def _statements(body: tuple) -> list:
    out = []
    for stmt in body:
        out.append(stmt)
        if isinstance(stmt, ast.Scope):
            out += _statements(stmt.body)
    return out


def unpack(targets: tuple[str, ...], item: Any, node: ast.Node) -> dict[str, Any]:
    """`for a, b in pairs` and `let a, b = pair`: one name per item of a list."""
    if len(targets) == 1:
        return {targets[0]: item}
    if isinstance(item, Poison):
        return dict.fromkeys(targets, POISON)
    if not isinstance(item, tuple) or len(item) != len(targets):
        raise fail(
            "E207",
            f"cannot unpack {describe(item)} into {len(targets)} names",
            node.span,
        )
    return dict(zip(targets, item, strict=True))
