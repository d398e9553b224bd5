"""The front end's facade: file -> loaded modules -> elaborated spaces + diagnostics.

This composes the stages (load and parse, module globals, elaboration) and
gathers every diagnostic they produce, so a caller gets all independent errors
of a file from one call. It never prints.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from archc.dsl import ast
from archc.dsl.defines import Define
from archc.dsl.elaborate import elaborate_space
from archc.dsl.loader import Loader
from archc.dsl.modules import Modules
from archc.dsl.program import Elaborated
from archc.dsl.resolve import resolve_module
from archc.kernel.diagnostics import Diagnostic, Severity


@dataclass
class CheckResult:
    path: str
    spaces: list[Elaborated] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


def check_file(
    path: str | os.PathLike, text: str | None = None, defines: Iterable[Define] = ()
) -> CheckResult:
    """Parse, resolve and elaborate every `space`/`net` of one file; `defines` replace
    constants of the file (see `archc.dsl.defines`)."""
    defines = list(defines)
    loader = Loader()
    root = loader.load_root(path, text)
    result = CheckResult(str(path))
    modules = Modules(loader, defines, root.key if root is not None else None)
    if root is not None:
        for key, source in loader.files.items():
            env = modules.globals_of(key)
            if not key.startswith("std/"):
                with contextlib.suppress(RecursionError):  # elaboration reports it, located
                    result.diagnostics.extend(resolve_module(source.module, _all_names(env)))
        first: dict[str, ast.SpaceDecl] = {}
        for item in root.module.items:
            if not isinstance(item, ast.SpaceDecl):
                continue
            if item.name in first:
                result.diagnostics.append(_defined_twice(item, first[item.name]))
                continue
            first[item.name] = item
            space, diags = elaborate_space(item, modules)
            result.spaces.append(space)
            result.diagnostics.extend(diags)
    result.diagnostics[:0] = _unique(loader.diagnostics + modules.diagnostics)
    result.diagnostics = _unique(result.diagnostics)
    if not result.ok:  # warnings about a file with errors would only add noise
        result.diagnostics = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    result.sources = {**loader.sources(), **{d.key: d.text for d in defines}}
    return result


def _defined_twice(item: ast.SpaceDecl, first: ast.SpaceDecl) -> Diagnostic:
    """Spaces and nets are found by name (`archc.load(path, name=...)`, configs, run
    folders): two with one name would make every such lookup ambiguous."""
    kind, first_kind = ("net" if x.is_net else "space" for x in (item, first))
    what = f"`{kind} {item.name}`" if kind == first_kind else f"`{item.name}`"
    kinds = "" if kind == first_kind else f", as a {first_kind} and as a {kind}"
    return Diagnostic(
        "E025",
        f"{what} is defined twice in this file{kinds}",
        item.span,
        hint="give each `space` and `net` of a file its own name",
    ).with_note("first definition", first.span)


def _all_names(env) -> dict:
    names: dict = {}
    while env is not None:
        names = {**env.vars, **names}
        env = env.parent
    return names


def _unique(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple] = set()
    out = []
    for d in diags:
        key = (d.code, d.message, d.span)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
