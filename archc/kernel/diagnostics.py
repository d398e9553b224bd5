"""The one diagnostic type and its one renderer.

Library code never prints: it raises `ArchError` holding one or more
`Diagnostic`s, and `render` turns them into the text a user reads:

    path:line:col: error: message
       12 |     let y = x -> cnov(16)
          |                  ^^^^
    hint: did you mean `conv`?
"""

from __future__ import annotations

import difflib
import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from archc.kernel.span import Span


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Note:
    """A secondary location ("defined here", "this shape came from")."""

    message: str
    span: Span | None = None


@dataclass(frozen=True)
class Diagnostic:
    """One user-facing problem: code, message, where, and what might fix it."""

    code: str
    message: str
    span: Span | None
    severity: Severity = Severity.ERROR
    notes: tuple[Note, ...] = field(default=())
    hint: str | None = None

    def with_note(self, message: str, span: Span | None = None) -> Diagnostic:
        return Diagnostic(
            self.code,
            self.message,
            self.span,
            self.severity,
            (*self.notes, Note(message, span)),
            self.hint,
        )


class ArchError(Exception):
    """Raised by every stage for user mistakes; carries all diagnostics found."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.message for d in self.diagnostics))


def fail(code: str, message: str, span: Span | None, hint: str | None = None) -> ArchError:
    """Build the exception for a single diagnostic (``raise fail(...)``)."""
    return ArchError([Diagnostic(code, message, span, hint=hint)])


def suggest(name: str, known: Iterable[str], what: str = "") -> str | None:
    """A 'did you mean' hint naming the nearest known names, or None."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    if not close:
        return None
    quoted = ", ".join(f"`{c}`" for c in close)
    return f"did you mean {quoted}?" if not what else f"did you mean {what} {quoted}?"


MAX_SHOWN = 50  # diagnostics rendered; a file with thousands of typos ends in a count
MAX_HINTED = 50  # diagnostics per stage that get a did-you-mean (each costs a scan of names)


def render(diags: Iterable[Diagnostic], sources: Mapping[str, str] | None = None) -> str:
    """Render diagnostics as text; `sources` maps file names to their text. Past the
    first MAX_SHOWN, one line counts the rest."""
    diags = list(diags)
    lines = [_render_one(d, sources or {}) for d in diags[:MAX_SHOWN]]
    if len(diags) > MAX_SHOWN:
        rest = Counter(d.severity.value for d in diags[MAX_SHOWN:])
        counts = " and ".join(f"{n} more {kind}{'s' if n > 1 else ''}" for kind, n in rest.items())
        lines.append(f"note: {counts} not shown (the first {MAX_SHOWN} are above)")
    return "\n".join(lines)


def _render_one(d: Diagnostic, sources: Mapping[str, str]) -> str:
    where = f"{_escaped(str(d.span))}: " if d.span else ""
    lines = [f"{where}{d.severity.value}[{d.code}]: {_escaped(d.message)}"]
    lines += _excerpt(d.span, sources)
    for note in d.notes:
        message = _escaped(note.message)
        lines.append(
            f"{_escaped(str(note.span))}: note: {message}" if note.span else f"note: {message}"
        )
        lines += _excerpt(note.span, sources)
    if d.hint:
        lines.append(f"hint: {_escaped(d.hint)}")
    return "\n".join(lines)


def _escaped(text: str) -> str:
    """Control and other invisible characters (from a file name or a string value)
    written as escapes, so that no message can move the cursor or recolour a terminal."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
        for c in text
    )


def _excerpt(span: Span | None, sources: Mapping[str, str]) -> list[str]:
    """The source line of `span` with carets under it (first line only)."""
    if span is None or span.file not in sources or span.line < 1:
        return []
    # lines as the parser counts them (only \n ends a line, unlike str.splitlines), with
    # control characters shown as one placeholder each so the caret stays aligned
    text_lines = sources[span.file].split("\n")
    if span.line > len(text_lines):
        return []
    line = text_lines[span.line - 1].removesuffix("\r").expandtabs(1)
    line = "".join(c if c.isprintable() else "\ufffd" for c in line)
    end = span.end_column if span.end_line == span.line else len(line) + 1
    width = max(1, min(end, len(line) + 1) - span.column)
    line, column, width = _window(line, span.column, width)
    gutter = f"{span.line:>5} | "
    return [gutter + line, " " * (len(gutter) - 2) + "| " + " " * (column - 1) + "^" * width]


MAX_EXCERPT = 160  # columns of source shown; a longer line is cut around the caret


def _window(line: str, column: int, width: int) -> tuple[str, int, int]:
    """A long line cut to MAX_EXCERPT columns around `column`, marked with `...`."""
    if len(line) <= MAX_EXCERPT:
        return line, column, width
    start = max(0, min(column - 1 - 40, len(line) - MAX_EXCERPT))
    cut = line[start : start + MAX_EXCERPT]
    before = "..." if start > 0 else ""
    after = "..." if start + MAX_EXCERPT < len(line) else ""
    column = column - start + len(before)
    width = max(1, min(width, len(cut) + len(before) + 1 - column))
    return before + cut + after, column, width


def shown_number(value: int | float) -> str:
    """A number as messages show it: a huge int by its first and last digits and its
    length (10**400 is not echoed in full)."""
    if isinstance(value, bool) or not isinstance(value, int) or value.bit_length() < 100:
        return repr(value)
    try:
        digits = str(abs(value))
    except ValueError:  # beyond what Python converts to text: never built by the language
        return (
            f"{'-' if value < 0 else ''}an int of about {int(value.bit_length() * 0.30103)} digits"
        )
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[:6]}...{digits[-4:]} ({len(digits)} digits)"
