"""Static name resolution: every name in every block and space, used or not.

Elaboration only visits blocks that are instantiated, so a misspelt name in a
block nobody calls yet would go unnoticed. This pass walks all bodies with
lexical scopes (module globals; parameters; `let`s from their statement on;
comprehension and `repeat` index variables inside their expression) and
reports unknown names, and unknown keyword arguments of direct calls to known
blocks and ops, with the same messages as evaluation (duplicates are merged).
"""

from __future__ import annotations

from collections.abc import Iterable

from archc.dsl import ast
from archc.dsl.calls import _signature_hint
from archc.dsl.values import BlockFn, OpFn
from archc.kernel.diagnostics import MAX_HINTED, Diagnostic, suggest


class Resolver:
    def __init__(self, global_names: dict[str, object]):
        self.globals = global_names
        self.diagnostics: list[Diagnostic] = []
        self.unindexed_repeats = 0  # `repeat(n) { ... }` bodies without `i =>` around

    def module(self, module: ast.Module) -> list[Diagnostic]:
        for item in module.items:
            if isinstance(item, ast.BlockDecl):
                scope = [{p.name for p in item.params}]
                for p in item.params:
                    if p.default is not None:
                        self.expr(p.default, [set()])
                self.body(item.body, scope)
            elif isinstance(item, ast.SpaceDecl):
                self.body(item.body, [set()])
            elif isinstance(item, ast.ConstDecl):
                self.expr(item.value, [set()])
        return self.diagnostics

    def body(
        self, stmts: Iterable[ast.Node], scopes: list[set[str]], into: set[str] | None = None
    ) -> None:
        """Resolve statements; their bindings go to `into` (a loop body's go to the
        scope around the loop) or the innermost scope."""
        into = scopes[-1] if into is None else into
        for s in stmts:
            if isinstance(s, ast.Scope):
                self._label(s.label, scopes)
                if s.shares:
                    self._label(s.shares, scopes)
                self.body(s.body, scopes, into)
                continue
            if isinstance(s, ast.For):
                self.expr(s.iter, scopes)
                self.body(s.body, [*scopes, set(s.targets)], into)
                continue
            for child in _exprs_of(s):
                self.expr(child, scopes)
            if isinstance(s, ast.Let):
                into.update(s.unpack or (s.name,))
            elif isinstance(s, ast.Input):
                into.add(s.name)

    def _label(self, label: ast.Label | None, scopes: list[set[str]]) -> None:
        for idx in label.indices if label else ():
            self.expr(idx, scopes)

    def expr(self, e: ast.Node, scopes: list[set[str]]) -> None:
        if isinstance(e, ast.Name):
            self._name(e, scopes)
        elif isinstance(e, ast.Comprehension):
            self._comprehension(e, scopes)
        elif isinstance(e, ast.Repeat):
            self.expr(e.count, scopes)
            self._label(e.label, scopes)
            inner = [*scopes, {e.index_var} if e.index_var else set()]
            self.unindexed_repeats += e.index_var is None
            for stage in e.stages:
                self.expr(stage, inner)
            self.unindexed_repeats -= e.index_var is None
        elif isinstance(e, ast.Call):
            self._call(e, scopes)
        else:
            for child in _children(e):
                self.expr(child, scopes)

    def _name(self, e: ast.Name, scopes: list[set[str]]) -> None:
        if any(e.id in s for s in scopes) or e.id in self.globals:
            return
        hint = None
        if len(self.diagnostics) < MAX_HINTED:  # each hint scans every visible name
            hint = suggest(e.id, set(self.globals).union(*scopes))
        if self.unindexed_repeats and not hint:
            hint = f"to use the iteration index, name it: `repeat(n) {{ {e.id} => ... }}`"
        self.diagnostics.append(Diagnostic("E202", f"unknown name `{e.id}`", e.span, hint=hint))

    def _comprehension(self, e: ast.Comprehension, scopes: list[set[str]]) -> None:
        inner = [*scopes, set()]
        for clause in e.clauses:
            if isinstance(clause, ast.CompFor):
                self.expr(clause.iter, inner)
                inner[-1].update(clause.targets)
            else:
                self.expr(clause.test, inner)
        self.expr(e.element, inner)

    def _call(self, e: ast.Call, scopes: list[set[str]]) -> None:
        for child in _children(e):
            self.expr(child, scopes)
        self._label(e.label, scopes)
        if not isinstance(e.func, ast.Name) or any(e.func.id in s for s in scopes):
            return
        callee = self.globals.get(e.func.id)
        if isinstance(callee, (BlockFn, OpFn)):
            params = [p.name for p in callee.decl.params]
            for kw in e.keywords:
                if kw.name not in params:
                    self.diagnostics.append(
                        Diagnostic(
                            "E226",
                            f"`{callee.decl.name}` has no parameter `{kw.name}`",
                            kw.span,
                            hint=suggest(kw.name, params) or _signature_hint(callee.decl),
                        )
                    )


def _exprs_of(stmt: ast.Node) -> list[ast.Node]:
    if isinstance(stmt, ast.Constraint):
        return [*list(stmt.metric.scope.indices if stmt.metric.scope else ()), stmt.bound]
    return [c for c in _children(stmt)]


def _children(node: ast.Node) -> Iterable[ast.Node]:
    """Direct sub-expressions of a node (labels handled by their owners)."""
    for name in type(node).model_fields:
        if name in ("span", "label"):
            continue
        value = getattr(node, name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, ast.Keyword):
                if not (
                    item.name in ("realise", "default")
                    and isinstance(item.value, ast.Name)
                    and isinstance(node, (ast.ChoiceExpr, ast.OneOf))
                ):
                    yield item.value  # `realise=weighted`, `default=skip` name things
            elif isinstance(item, ast.Candidate):
                yield item.stage
            elif isinstance(item, ast.Node) and not isinstance(item, (ast.TypeRef, ast.Label)):
                yield item


def resolve_module(module: ast.Module, global_names: dict[str, object]) -> list[Diagnostic]:
    return Resolver(global_names).module(module)
