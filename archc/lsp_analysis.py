"""What the language server knows of one open document, independent of the protocol.

`analyse(path, text)` compiles the text as the file at `path` (imports resolve from its
folder) and answers the editor's questions in plain data: the diagnostics of this file,
what to show on hover at a position (a value's shape, a choice's domain and
realisation), where a name or an import is defined, and the canonical text. The
protocol layer (`archc.lsp`) only converts these. Lines and columns count from 1, as
in `Span`; nothing here imports torch.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from archc.api import compile_file
from archc.compiler.ir import facts
from archc.dsl import ast
from archc.dsl.fmt import format_source
from archc.dsl.loader import Loader
from archc.grammars import STD_DIR
from archc.kernel.diagnostics import ArchError, Diagnostic
from archc.kernel.span import Span

_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


@dataclass(frozen=True)
class Location:
    path: str
    span: Span


@dataclass
class Analysis:
    path: str
    text: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    compiled: Any = None  # archc.api.Compiled

    @cached_property
    def graphs(self) -> list:
        """The networkx graphs, made at the first hover: building them (without dead
        nodes) took as long again as compiling, and most edits are never hovered."""
        return self.compiled.graphs if self.compiled is not None else []

    # ---- hover
    def hover(self, line: int, column: int) -> str | None:
        """A choice's domain and realisation, else the shape of the innermost op or
        block call under the cursor."""
        choices = [
            c for g in self.graphs for c in facts(g).choices if self._at(c.span, line, column)
        ]
        choice = _innermost(choices)
        if choice is not None:  # a choice in a block: one per instance of the block
            names = ", ".join(f"`{c.name}`" for c in choices if c.span == choice.span)
            domain = "depends on other choices" if choice.dependent else _domain(choice.domain)
            return (
                f"choice {names} ({choice.kind}): {domain}\n"
                f"realise={choice.realise}, default={choice.default!r}"
            )
        nodes = [g.nodes[n]["ir"] for g in self.graphs for n in g.nodes]
        node = _innermost([n for n in nodes if self._at(n.span, line, column)])
        # a block call: the last node of its innermost instance, when that call is inside
        calls = [(s, n) for n in nodes for s in n.trace if self._at(s, line, column)]
        site = _innermost([s for s, _ in calls], span=lambda s: s)
        if site is not None and (
            node is None or _innermost([node.span, site], lambda s: s) == site
        ):
            node = max((n for s, n in calls if s == site), key=lambda n: n.id)
        if node is None:
            return None
        shape = "[" + ", ".join(str(d) for d in node.shape) + "]"
        largest = "[" + ", ".join(str(d) for d in node.max_shape) + "]"
        text = f"`{node.name}` ({node.op or node.kind}): {shape}"
        return text if largest == shape else f"{text}, at most {largest}"

    def _at(self, span: Span, line: int, column: int) -> bool:
        return span.file == self.path and _inside(span, line, column)

    # ---- go to definition
    def definition(self, line: int, column: int) -> Location | None:
        """Where the block, op or constant under the cursor is declared, or the file an
        `import` line names."""
        loader = Loader()
        root = loader.load_root(self.path, self.text)
        if root is None:
            return None
        for item, keys in root.imports:
            if item.span.line == line and keys:
                target = loader.files[keys[0]]
                return Location(str(target.path), Span.point(keys[0], 1, 1))
        word = _word_at(self.text, line, column)
        if word is None:
            return None
        for key in [root.key, *(k for k in loader.files if k != root.key)]:
            source = loader.files[key]
            for decl in source.module.items:
                if isinstance(decl, (ast.BlockDecl, ast.OpDecl, ast.ConstDecl)) and (
                    decl.name == word
                ):
                    return Location(str(_file_of(source)), decl.span)
        return None

    # ---- formatting
    def formatted(self) -> str | None:
        try:
            return format_source(self.text, self.path)
        except ArchError:
            return None


def analyse(path: str | os.PathLike, text: str) -> Analysis:
    result = compile_file(path, text)
    mine = [d for d in result.diagnostics if d.span is None or d.span.file == str(path)]
    return Analysis(str(path), text, mine, result)


def _file_of(source) -> Path:
    if source.key.startswith("std/"):
        return STD_DIR / source.key.removeprefix("std/")
    return Path(source.path).resolve()


def _inside(span: Span, line: int, column: int) -> bool:
    start = (span.line, span.column)
    end = (span.end_line, span.end_column)
    return start <= (line, column) < end


def _innermost(items: list, span=lambda item: item.span):
    def size(item):
        s = span(item)
        return (s.end_line - s.line, s.end_column - s.column)

    return min(items, key=size) if items else None


def _domain(values) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:12])
    return "{" + shown + (", ..." if len(values) > 12 else "") + "}"


def _word_at(text: str, line: int, column: int) -> str | None:
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None
    for m in _WORD.finditer(lines[line - 1]):
        if m.start() < column <= m.end() + 1 and m.start() + 1 <= column:
            return m.group()
    return None
