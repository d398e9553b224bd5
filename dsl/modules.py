"""Global names of each loaded module: its definitions, its imports, the prelude.

Resolution order, innermost first: the module's own consts/blocks/ops, then
what it imports (unqualified, or under `as` aliases), then the prelude's ops
and the builtin functions. Two imports defining the same name is an error at
the second import; a module's own definition may shadow an import.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from archc.dsl import ast
from archc.dsl.builtins import BUILTINS
from archc.dsl.context import Context
from archc.dsl.defines import Define, check_type, unknown
from archc.dsl.expressions import Env
from archc.dsl.loader import PRELUDE, Loader
from archc.dsl.types import check_type_ref
from archc.dsl.values import POISON, BlockFn, Namespace, OpFn, Tensor
from archc.kernel.diagnostics import ArchError, Diagnostic, fail
from archc.kernel.symbolic import is_symbolic


class Modules:
    def __init__(self, loader: Loader, defines: Iterable[Define] = (), root: str | None = None):
        self.loader = loader
        self.defines = {d.name: d for d in defines}  # for the root module's constants
        self.root = root
        self.diagnostics: list[Diagnostic] = []
        self._globals: dict[str, Env] = {}
        self._builtins = Env(dict(BUILTINS))

    def prelude_ops(self) -> dict[str, OpFn]:
        prelude = self.loader.files.get(PRELUDE)
        if prelude is None:
            return {}
        return {i.name: OpFn(i) for i in prelude.module.items if isinstance(i, ast.OpDecl)}

    def base_env(self) -> Env:
        return Env(dict(self.prelude_ops()), self._builtins)

    def globals_of(self, key: str) -> Env:
        if key not in self._globals:
            self._globals[key] = self._build(key)
        return self._globals[key]

    def _build(self, key: str) -> Env:
        source = self.loader.files.get(key)
        parent = self._builtins if key == PRELUDE else self.base_env()
        imported = Env({}, parent, module=key)
        env = Env({}, imported, module=key)
        if source is None:
            return env
        self._add_imports(source, imported)
        self._add_definitions(source.module, env, key)
        if key == self.root:
            consts = [i.name for i in source.module.items if isinstance(i, ast.ConstDecl)]
            self.diagnostics += [
                unknown(d, consts, key) for d in self.defines.values() if d.name not in consts
            ]
        return env

    def _add_imports(self, source, imported: Env) -> None:
        origin: dict[str, str] = {}  # name -> the module it was imported from
        for item, keys in source.imports:
            if item.alias:
                members = {n: v for k in keys for n, v in self.public(k).items()}
                imported.vars[item.alias] = Namespace(item.alias, members)
                continue
            for key in keys:
                for name, value in self.public(key).items():
                    if name in origin and imported.vars[name] is not value:
                        self.diagnostics.append(
                            Diagnostic(
                                "E019",
                                f"`{name}` is defined by both `{origin[name]}` and `{key}`",
                                item.span,
                                hint='import one of them under a name: `import "x.arch" as x`',
                            )
                        )
                    origin[name] = key
                    imported.vars[name] = value

    def public(self, key: str) -> dict[str, Any]:
        """What `import` of module `key` brings in: its own definitions."""
        env = self.globals_of(key)
        return dict(env.vars)

    def _add_definitions(self, module: ast.Module, env: Env, key: str) -> None:
        seen: dict[str, ast.Node] = {}
        for item in module.items:
            if not isinstance(item, (ast.ConstDecl, ast.OpDecl, ast.BlockDecl)):
                continue
            if item.name in seen:
                self.diagnostics.append(
                    Diagnostic(
                        "E020",
                        f"`{item.name}` is defined twice in this file",
                        item.span,
                    ).with_note("first definition", seen[item.name].span)
                )
                continue
            seen[item.name] = item
            try:
                try:
                    env.vars[item.name] = self._define(item, env, key)
                except RecursionError:
                    raise fail(
                        "E023", f"`{item.name}` is nested too deeply to evaluate", item.span
                    ) from None
            except ArchError as err:
                self.diagnostics.extend(err.diagnostics)
                env.vars[item.name] = POISON  # defined, but broken: uses report nothing more

    def _define(self, item: ast.Node, env: Env, key: str) -> Any:
        if isinstance(item, ast.OpDecl) and item.span.file != PRELUDE:
            raise fail(
                "E024",
                f"`op {item.name}` declares a primitive op, but primitive ops "
                "come only from the standard prelude",
                item.span,
                hint=f"write `block {item.name}(...)` in terms of existing ops",
            )
        if isinstance(item, (ast.OpDecl, ast.BlockDecl)):
            _check_signature(item)
            return OpFn(item) if isinstance(item, ast.OpDecl) else BlockFn(item, item.span.file)
        define = self.defines.get(item.name) if key == self.root else None
        if define is not None:
            value = self._const(item, env, define)
            written: Any = None
            with contextlib.suppress(ArchError):  # its own mistakes do not matter now
                written = self._const(item, env)
            check_type(define, value, written, item)
            return value
        return self._const(item, env)

    def _const(self, item: ast.ConstDecl, env: Env, define: Define | None = None) -> Any:
        """The value of a constant, or of the define that replaces it, checked alike."""
        from archc.dsl.elaborate import Elaborator  # elaborate imports this module's users

        if define is not None and define.expr is None:
            return define.value  # a Python value: plain data already
        ctx = Context(f"const {item.name}", is_net=False)
        expr = item.value if define is None else define.expr
        value = Elaborator(ctx, self).eval(expr, env)
        if ctx.nodes or ctx.choices or is_symbolic(value) or isinstance(value, Tensor):
            raise fail(
                "E021",
                f"const `{item.name}` must be known at compile time; it cannot "
                "hold tensors or choices",
                expr.span,
                hint="use `let` inside a space or block for choices",
            )
        return value


def _check_signature(decl: ast.OpDecl | ast.BlockDecl) -> None:
    seen: set[str] = set()
    for p in decl.params:
        if p.name in seen:
            raise fail("E022", f"parameter `{p.name}` is declared twice", p.span)
        seen.add(p.name)
        check_type_ref(p.type)
    if decl.returns is not None:
        check_type_ref(decl.returns)
