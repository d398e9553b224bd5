"""Text -> AST, and the one place where lark's exceptions become diagnostics.

Everything lark can raise (`UnexpectedCharacters`, `UnexpectedToken`,
`UnexpectedEOF`, `VisitError`) is converted here, so no later stage ever sees
a lark exception and no user ever sees a traceback.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import lark
from lark import Lark, Token
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from archc.dsl import ast
from archc.dsl.diagnostics import ArchError, Diagnostic
from archc.dsl.span import Span
from archc.dsl.transform import ToAst
from archc.grammars import GRAMMAR_PATH

_READABLE = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "COMPARE": "a comparison",
    "ADD_OP": "`+` or `-`", "MUL_OP": "`*`, `/`, `//` or `%`", "SPACE_KIND": "`space` or `net`",
    "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`", "LBRACE": "`{`",
    "RBRACE": "`}`", "COMMA": "`,`", "COLON": "`:`", "EQUAL": "`=`", "DOT": "`.`",
    "MINUS": "`-`", "__ANON_0": "`->`", "$END": "the end of the file",
}
_STATEMENT_WORDS = ("let", "return", "assert", "scope", "input", "output", "constraint")
_ITEM_WORDS = ("import", "const", "op", "block", "space", "net")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = GRAMMAR_PATH.read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True, cache=_cache_file(grammar))


def _cache_file(grammar: str) -> str | bool:
    """A private per-user file for lark's parse tables (building them costs ~150 ms).

    The tables are a pickle, so they are only ever read from a directory that
    belongs to this user and nobody else can write; otherwise nothing is cached.
    """
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archc"
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = root.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            return False
    except OSError:
        return False
    digest = hashlib.sha256(f"{grammar}{lark.__version__}".encode()).hexdigest()[:16]
    return str(root / f"grammar-{digest}.lark")


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse one file. Raises `ArchError` with a located diagnostic on failure."""
    if "\x00" in text:
        raise ArchError([Diagnostic("E001", "file contains a NUL byte; is it a binary file?",
                                    Span.point(path, 1, 1))])
    try:
        tree = _lark().parse(text)
        items = ToAst(path).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, ArchError):
            raise err.orig_exc from None
        raise
    except UnexpectedInput as err:
        raise ArchError([_syntax_error(err, text, path)]) from None
    except LarkError as err:  # grammar-level surprises are still reported, located at 1:1
        raise ArchError([Diagnostic("E001", f"cannot parse: {err}", Span.point(path, 1, 1))]) \
            from None
    comments = tuple(_comments(text, path))
    end = Span(file=path, line=1, column=1, end_line=text.count("\n") + 1, end_column=1)
    return ast.Module(span=end, path=path, items=tuple(items), comments=comments)


def _comments(text: str, path: str):
    """Comments with their positions, for the formatter (the parser ignores them)."""
    for line_no, line in enumerate(text.splitlines(), start=1):
        col = _comment_column(line)
        if col is not None:
            yield ast.Comment(span=Span(file=path, line=line_no, column=col + 1,
                                        end_line=line_no, end_column=len(line) + 1),
                              text=line[col:].rstrip())


def _comment_column(line: str) -> int | None:
    """Index of a `#` that starts a comment (not one inside a string)."""
    in_string = escaped = False
    for i, ch in enumerate(line):
        if in_string:
            escaped = (ch == "\\") and not escaped
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch == "#":
            return i
    return None


# ------------------------------------------------------------- syntax errors


def _syntax_error(err: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(err, UnexpectedCharacters):
        return _bad_character(err, text, path)
    if isinstance(err, UnexpectedEOF) or (
            isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        return _unexpected_end(err, text, path)
    assert isinstance(err, UnexpectedToken)
    return _unexpected_token(err, path)


def _bad_character(err: UnexpectedCharacters, text: str, path: str) -> Diagnostic:
    char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
    span = Span.point(path, err.line, err.column)
    if char == "'":
        return Diagnostic("E002", "strings use double quotes", span,
                          hint='write "text" instead of \'text\'')
    if char == "=" and text[err.pos_in_stream:err.pos_in_stream + 2] == "=>":
        return Diagnostic("E002", "`=>` is only allowed after the index name in `repeat`", span)
    shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}" if char else "end"
    return Diagnostic("E002", f"unexpected character {shown}", span,
                      hint=_expected_text(err.allowed) if err.allowed else None)


def _unexpected_end(err: UnexpectedInput, text: str, path: str) -> Diagnostic:
    open_at = _unclosed_bracket(text)
    lines = text.splitlines() or [""]
    span = Span.point(path, len(lines), len(lines[-1]) + 1)
    if open_at is not None:
        char, line, col = open_at
        closing = {"{": "}", "(": ")", "[": "]"}[char]
        d = Diagnostic("E004", f"file ended before `{char}` was closed", span,
                       hint=f"add the missing `{closing}`")
        return d.with_note(f"`{char}` opened here", Span.point(path, line, col))
    expected = getattr(err, "expected", None) or getattr(err, "accepts", None) or set()
    return Diagnostic("E004", "file ended in the middle of a statement", span,
                      hint=_expected_text(expected) if expected else None)


def _unexpected_token(err: UnexpectedToken, path: str) -> Diagnostic:
    tok: Token = err.token
    span = Span(file=path, line=tok.line, column=tok.column,
                end_line=tok.end_line or tok.line, end_column=tok.end_column or tok.column + 1)
    found = f"`{tok.value}`"
    expected = set(err.accepts or err.expected or ())
    hint = _expected_text(expected)
    if tok.type == "NAME" and _expects_statement(expected):
        word = str(tok.value)
        if word in ("if", "for", "else", "while", "def", "class", "return"):
            hint = "statements start with `let`, `return`, `assert`, `scope`, `input`, `output` "\
                   "or `constraint`"
        else:
            hint = f"bindings start with `let`: write `let {word} = ...`"
        return Diagnostic("E003", f"unexpected name {found} where a statement should start",
                          span, hint=hint)
    if tok.type == "EQUAL" and "COMPARE" in expected:
        return Diagnostic("E003", "unexpected `=`; comparisons use `==`", span)
    return Diagnostic("E003", f"unexpected {found}", span, hint=hint)


def _expects_statement(expected: set[str]) -> bool:
    return any(w.upper() in expected for w in _STATEMENT_WORDS) or ("RBRACE" in expected and \
        any(w.upper() in expected for w in _ITEM_WORDS + _STATEMENT_WORDS))


_EXPR_START = {"NAME", "NUMBER", "STRING", "LSQB", "LPAR"}


def _expected_text(expected) -> str | None:
    expected = set(expected)
    if expected >= _EXPR_START:
        rest = expected - _EXPR_START - {"MINUS", "CHOICE", "ONEOF", "REPEAT", "TRUE", "FALSE",
                                         "NONE", "NOT"}
        others = sorted(_READABLE.get(e, f"`{e.lower()}`") for e in rest)
        return "expected " + ", ".join(["an expression", *others])
    names = sorted({_READABLE.get(e, f"`{e.lower()}`") for e in expected if e != "COMMENT"})
    if not names:
        return None
    if len(names) > 6:
        names = [*names[:6], "..."]
    return "expected " + ", ".join(names)


def _unclosed_bracket(text: str) -> tuple[str, int, int] | None:
    """The innermost bracket still open at the end of `text` (ignoring strings, comments)."""
    stack: list[tuple[str, int, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for line_no, line in enumerate(text.splitlines(), start=1):
        cut = _comment_column(line)
        in_string = False
        for col, ch in enumerate(line[:cut] if cut is not None else line, start=1):
            if ch == '"' and (col < 2 or line[col - 2] != "\\"):
                in_string = not in_string
            elif not in_string and ch in "([{":
                stack.append((ch, line_no, col))
            elif not in_string and ch in pairs and stack and stack[-1][0] == pairs[ch]:
                stack.pop()
    return stack[-1] if stack else None
