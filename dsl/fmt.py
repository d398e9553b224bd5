"""The canonical formatter behind `archc fmt`: AST (plus comments) -> source text.

Guarantees, checked by tests/dsl/test_fmt*.py: `parse(fmt(x))` is the same
tree as `parse(x)`, `fmt` is idempotent, and every comment comes out exactly
once. Layout is fixed by the AST; the only things kept from the source are
number spelling, comments, and (at most one) blank line where the source had
blank lines between comments/statements. Expressions and line breaking live
in `archc.dsl.fmt_expr`.

Comment placement (only comment positions are known, so attachment is by
line): a comment on the first line of an item/statement trails that line;
own-line comments before a statement are printed above it; comments inside
a multi-line statement's expression are hoisted above it; comments after the
last statement of a body stay before its `}`, and one on the `}` line trails
the `}`.
"""

from __future__ import annotations

from archc.dsl import ast
from archc.dsl.fmt_expr import (
    INDENT,
    LINE,
    OR,
    Doc,
    Group,
    Nest,
    bracketed,
    expr,
    join,
    label_ref,
    quote,
    render,
    sub,
)
from archc.dsl.parser import parse

__all__ = ["check_source", "format_module", "format_source"]


def format_source(text: str, path: str = "<string>") -> str:
    """Parse then format; raises `ArchError` if `text` does not parse."""
    return format_module(parse(text, path))


def check_source(text: str, path: str = "<string>") -> bool:
    """Is `text` already canonical (for `archc fmt --check`)?"""
    return format_source(text, path) == text


def format_module(module: ast.Module) -> str:
    """Canonical text of `module`, placing `module.comments` by their source lines."""
    printer = _Printer(_real_comments(module))
    printer.sequence(module.items, 0, end_line=None)
    return "".join(line + "\n" for line in printer.lines)


def _real_comments(module: ast.Module) -> list[ast.Comment]:
    """The module's comments in source order, minus any that lie inside a string.

    The parser's comment scanner can mistake a `#` after an escaped quote
    (`"a\\"#b"`) for a comment; printing such a "comment" would duplicate it.
    """
    strings = [n.span for n in _walk(module) if isinstance(n, ast.String)]

    def inside(c: ast.Comment) -> bool:
        return any(
            s.line == c.span.line and s.column < c.span.column < s.end_column for s in strings
        )

    return sorted(
        (c for c in module.comments if not inside(c)), key=lambda c: (c.span.line, c.span.column)
    )


def _walk(node: object):
    if isinstance(node, ast.Node):
        yield node
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name))
    elif isinstance(node, tuple):
        for child in node:
            yield from _walk(child)


_COMPOUND = (ast.BlockDecl, ast.SpaceDecl, ast.Scope, ast.For)


class _Printer:
    """Emits lines, handing out each comment once as the walk passes its line."""

    def __init__(self, comments: list[ast.Comment]):
        self.lines: list[str] = []
        self.pending = comments  # not yet printed, in source order
        self.last_line: int | None = None  # source line of the last thing printed

    # ---- comments
    def take(self, before: int | None) -> list[ast.Comment]:
        """Pop the pending comments on source lines < `before` (all when None)."""
        n = 0
        while n < len(self.pending) and (before is None or self.pending[n].span.line < before):
            n += 1
        taken, self.pending = self.pending[:n], self.pending[n:]
        return taken

    def emit_comment(self, c: ast.Comment, indent: int, blank: bool, keep: bool = True) -> None:
        self.blank_line(c.span.line, force=blank, keep=keep)
        self.lines.append(" " * indent + c.text)

    def blank_line(self, line: int, force: bool, keep: bool) -> None:
        """One blank line if forced, or if `keep` and the source had one before `line`."""
        gap = self.last_line is not None and line - self.last_line > 1
        if self.last_line is not None and (force or (keep and gap)):
            self.lines.append("")
        self.last_line = line

    # ---- sequences of items / statements
    def sequence(self, units, indent: int, end_line: int | None) -> None:
        """Items at top level (`end_line` None) or statements of a body ending at `end_line`."""
        top = end_line is None
        self.last_line = None
        prev = None
        for unit in units:
            separate = top and prev is not None and not _grouped(prev, unit)
            # no blank lines right after `{` (a doc line there would look like one)
            keep = top or prev is not None
            leading = self.take(unit.span.line)
            for i, c in enumerate(leading):
                self.emit_comment(c, indent, blank=separate and i == 0, keep=keep)
            self.blank_line(
                unit.span.line,
                force=separate and not leading,
                keep=keep and (bool(leading) or not top),
            )
            self.unit(unit, indent)
            self.last_line, prev = unit.span.end_line, unit
        for c in self.take(end_line):
            self.emit_comment(c, indent, blank=False)

    def unit(self, node, indent: int) -> None:
        if isinstance(node, _COMPOUND):
            self.compound(node, indent)
            return
        inner = self.take(node.span.end_line + 1)
        trailing = [c for c in inner if c.span.line == node.span.line]
        for c in inner:
            if c not in trailing:
                self.lines.append(" " * indent + c.text)
        self.emit_doc(_simple_doc(node), indent, trailing)

    def emit_doc(self, doc: Doc, indent: int, trailing: list[ast.Comment]) -> None:
        """Render `doc` at `indent`; a trailing comment goes at the end of its first line."""
        lines = render(doc, indent).split("\n")
        if trailing:
            lines[0] += "  " + trailing[0].text
        self.lines.append(" " * indent + lines[0])
        self.lines.extend(lines[1:])

    def compound(self, node, indent: int) -> None:
        """`header {` doc, body, `}`; collapsed to `header {}` when there is nothing inside."""
        start, end = node.span.line, node.span.end_line
        # `scope s { let a = 1  # c`: the comment belongs to the statement, not the header
        shared_line = bool(node.body) and node.body[0].span.line == start
        head = [] if shared_line else self.take(start + 1)
        inside = [c for c in self.pending if c.span.line < end]
        at_close = [c for c in self.pending if c.span.line == end]
        has_doc = getattr(node, "doc", None) is not None
        if not (node.body or has_doc or inside) and len(head + at_close) <= 1:
            tail = head + self.take(end + 1)
            self.emit_doc([_header(node), "}"], indent, tail)
            return
        self.emit_doc(_header(node), indent, head)
        inner = indent + INDENT
        if has_doc:
            self.lines.append(" " * inner + quote(node.doc))
        self.sequence(node.body, inner, end_line=end)
        self.emit_doc("}", indent, self.take(end + 1))


def _grouped(a, b) -> bool:
    """Consecutive imports, consts, or ops are not separated by a blank line."""
    return isinstance(a, ast.Import | ast.ConstDecl | ast.OpDecl) and type(a) is type(b)


# ------------------------------------------------------------------ documents


def _header(node) -> Doc:
    """The first line of a compound, up to and including `{`."""
    if isinstance(node, ast.Scope):
        shares = [] if node.shares is None else [" shares weights with ", label_ref(node.shares)]
        return ["scope ", label_ref(node.label), shares, " {"]
    if isinstance(node, ast.SpaceDecl):
        return f"{'net' if node.is_net else 'space'} {node.name} {{"
    if isinstance(node, ast.For):
        return ["for ", ", ".join(node.targets), " in ", sub(node.iter, OR), " {"]
    returns = f" -> {node.returns}" if node.returns is not None else ""
    return Group(["block ", node.name, _params(node.params), returns, " {"])


def _params(params: tuple[ast.Param, ...]) -> Doc:
    docs = [
        [p.name, ": ", str(p.type)] + ([] if p.default is None else [" = ", expr(p.default)])
        for p in params
    ]
    return bracketed("(", docs, ")")


def _simple_doc(node) -> Doc:
    """The document of an item or statement that has no body of statements."""
    if isinstance(node, ast.Import):
        module = quote(node.module) if node.is_path else node.module
        return f"import {module}" + (f" as {node.alias}" if node.alias else "")
    if isinstance(node, ast.OpDecl):
        # one line per op whatever its length: the prelude is a table of declarations
        doc = ["op ", node.name, _params(node.params), f" -> {node.returns} {{ ", quote(node.doc)]
        return render([doc, " }"], width=10**9)
    return _STATEMENTS[type(node)](node)


def _target(s: ast.Let) -> Doc:
    return ", ".join(s.unpack) if s.unpack else _indexed(s.name, s.index)


def _indexed(name: str, index: tuple) -> Doc:
    """`h` or `h[t]` (an indexed name: one member of a family)."""
    return name if not index else [name, "[", join([expr(i) for i in index], ", "), "]"]


def _metric(m: ast.Metric) -> Doc:
    arg = f"({m.arg})" if m.arg is not None else ""
    return [m.name, arg, [] if m.scope is None else [" in ", label_ref(m.scope)]]


def _assert(s: ast.Assert) -> Doc:
    """A long assert breaks before its message first."""
    if s.message is None:
        return ["assert ", expr(s.test)]
    return Group(["assert ", expr(s.test), ",", Nest([LINE, expr(s.message)])])


_STATEMENTS = {
    ast.ConstDecl: lambda s: ["const ", s.name, " = ", expr(s.value)],
    ast.Let: lambda s: ["let ", _target(s), " = ", expr(s.value)],
    ast.Return: lambda s: ["return ", expr(s.value)],
    ast.Assert: _assert,
    ast.Input: lambda s: ["input ", _indexed(s.name, s.index), ": ", expr(s.shape)],
    ast.Output: lambda s: ["output ", _indexed(s.name, s.index), " = ", expr(s.value)],
    ast.Constraint: lambda s: ["constraint ", _metric(s.metric), f" {s.op} ", expr(s.bound)],
}
