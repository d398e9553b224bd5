"""Constants set from outside the file: `archc info SPACE -D T=4`, `archc.load(path,
defines={"T": 4})`.

A define replaces the value of a `const` of the root file (not of the files it
imports) and goes through the same checks as the constant it replaces: it must
be known at compile time (numbers, strings, bools, `none`, lists of them), and
it must have the type of the value written in the file (an int may replace a
float). Constants below it that use it see the new value. On the command line
the value is an expression of the language (`-D T=4`, `-D 'ACT="relu"'`,
`-D 'INPUT=[3, 128, 96]'`) evaluated where the constant is; from Python it is a
plain value. A define of a name that the file does not declare is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archc.dsl import ast
from archc.dsl.parser import parse
from archc.dsl.values import describe
from archc.kernel.diagnostics import ArchError, Diagnostic, fail
from archc.kernel.span import Span
from archc.kernel.symbolic import type_of


@dataclass(frozen=True)
class Define:
    """One override: an expression parsed from `-D NAME=TEXT`, or a Python value."""

    name: str
    key: str  # the source name its diagnostics use: `-D NAME`
    text: str  # what was written after `=` (the source of its excerpts)
    expr: ast.Node | None = None
    value: Any = None

    @property
    def span(self) -> Span:
        return Span(file=self.key, line=1, column=1, end_line=1, end_column=len(self.text) + 1)


def parse_define(item: str) -> Define:
    """`NAME=VALUE` from the command line; the value is parsed as an expression."""
    name, sep, text = item.partition("=")
    name = name.strip()
    key = f"-D {name}"
    if not sep or not name.isidentifier():
        raise fail(
            "E026",
            f"`-D {item}` is not NAME=VALUE",
            None,
            hint="e.g. `-D T=4` or `-D 'INPUT=[3, 128, 96]'`",
        )
    try:
        module = parse(f"const {name} = {text}", key)
    except ArchError as err:
        raise ArchError([_shifted(d, len(name) + 9, text) for d in err.diagnostics]) from None
    if len(module.items) != 1 or not isinstance(module.items[0], ast.ConstDecl):
        raise fail("E026", f"`-D {item}`: the value must be one expression", None)
    return Define(name, key, text, expr=_shift(module.items[0].value, len(name) + 9))


def from_values(values: Mapping[str, Any]) -> list[Define]:
    """Defines given from Python (`archc.load(path, defines={"T": 4})`)."""
    out = []
    for name, value in values.items():
        data = _as_data(value)
        if data is _NOT_DATA:
            raise fail(
                "E026",
                f"define `{name}`: {type(value).__name__} is not a value of the language "
                "(numbers, strings, bools, None and lists of them)",
                None,
            )
        out.append(Define(str(name), f"-D {name}", repr(value), value=data))
    return out


_NOT_DATA = object()


def _as_data(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = tuple(_as_data(v) for v in value)
        return _NOT_DATA if _NOT_DATA in items else items
    return _NOT_DATA


def check_type(define: Define, value: Any, written: Any, decl: ast.ConstDecl) -> None:
    """A define keeps the type of the value written in the file."""
    have, want = type_of(value), type_of(written)
    if written is None or have == want or (want == "float" and have == "int"):
        return
    raise ArchError(
        [
            Diagnostic(
                "E027",
                f"`-D {define.name}`: `{define.name}` is {_kind(want)} in the file, got "
                f"{describe(value)}",
                define.span,
            ).with_note(f"`{define.name}` is declared here", decl.span)
        ]
    )


def unknown(define: Define, consts: list[str], path: str) -> Diagnostic:
    from archc.kernel.diagnostics import suggest

    return Diagnostic(
        "E028",
        f"`-D {define.name}`: `{path}` declares no constant `{define.name}`",
        define.span,
        hint=suggest(define.name, consts)
        or (f"its constants: {', '.join(consts)}" if consts else "it declares no `const`"),
    )


def _kind(t: str) -> str:
    return {"int": "an int", "float": "a float", "bool": "a bool", "str": "a str"}.get(
        t, "a list" if t == "list" else t
    )


def _shift(node: Any, by: int) -> Any:
    """Move the spans of a parsed `const NAME = VALUE` onto VALUE's own columns."""
    if isinstance(node, tuple):
        return tuple(_shift(n, by) for n in node)
    if not isinstance(node, ast.Node):
        return node
    fields = {k: _shift(getattr(node, k), by) for k in type(node).model_fields if k != "span"}
    s = node.span
    span = Span(
        file=s.file,
        line=s.line,
        column=max(1, s.column - by),
        end_line=s.end_line,
        end_column=max(1, s.end_column - by),
    )
    return type(node)(span=span, **fields)


def _shifted(d: Diagnostic, by: int, text: str) -> Diagnostic:
    if d.span is None:
        return d
    s = d.span
    column = min(max(1, s.column - by), len(text) + 1)
    span = Span(file=s.file, line=1, column=column, end_line=1, end_column=column + 1)
    return Diagnostic(d.code, d.message, span, d.severity, (), d.hint)
