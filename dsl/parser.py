"""Text -> AST, and the one place where lark's exceptions become diagnostics.

Everything lark can raise (`UnexpectedCharacters`, `UnexpectedToken`,
`UnexpectedEOF`, `VisitError`) is converted here, so no later stage ever sees
a lark exception and no user ever sees a traceback.
"""

from __future__ import annotations

import hashlib
import os
import threading
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
from archc.dsl.transform import ToAst
from archc.dsl.unsupported import unsupported_construct
from archc.grammars import GRAMMAR_PATH
from archc.kernel.diagnostics import ArchError, Diagnostic
from archc.kernel.span import Span

_READABLE = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "COMPARE": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/`, `//` or `%`",
    "SPACE_KIND": "`space` or `net`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "EQUAL": "`=`",
    "DOT": "`.`",
    "MINUS": "`-`",
    "ARROW": "`->`",
    "$END": "the end of the file",
}
_STATEMENT_WORDS = ("let", "return", "assert", "scope", "input", "output", "constraint")
_ITEM_WORDS = ("import", "const", "op", "block", "space", "net")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = GRAMMAR_PATH.read_text()
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_cache_file(grammar),
        lexer_callbacks={"COMMENT": _collect_comment},
    )


def _cache_file(grammar: str) -> str | bool:
    """A private per-user file for lark's parse tables (building them costs ~150 ms)."""
    root = cache_dir()
    if root is None:
        return False
    digest = hashlib.sha256(f"{grammar}{lark.__version__}".encode()).hexdigest()[:16]
    return str(root / f"grammar-{digest}.lark")


def cache_dir() -> Path | None:
    """archc's per-user cache directory, or None when there is none to trust.

    What is cached there is a pickle, so it is only ever read from a directory
    that belongs to this user and nobody else can write; otherwise nothing is cached.
    """
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archc"
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = root.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            return None
    except OSError:
        return None
    return root


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse one file. Raises `ArchError` with a located diagnostic on failure.

    A leading UTF-8 byte-order mark (some Windows editors write one) is ignored."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise ArchError(
            [
                Diagnostic(
                    "E001", "file contains a NUL byte; is it a binary file?", Span.point(path, 1, 1)
                )
            ]
        )
    _SINK.tokens = []
    try:
        tree = _lark().parse(text)
        items = ToAst(path, text).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, ArchError):
            raise err.orig_exc from None
        meta = getattr(err.obj, "meta", None)
        where = Span.point(path, getattr(meta, "line", 1), getattr(meta, "column", 1))
        if isinstance(err.orig_exc, RecursionError):  # the limit hit in one of our methods
            raise _too_deep(where) from None
        raise ArchError(
            [Diagnostic("E005", f"cannot read this {err.rule}: {err.orig_exc}", where)]
        ) from None
    except UnexpectedInput as err:
        raise ArchError([_syntax_error(err, text, path)]) from None
    except RecursionError:  # hundreds of nested brackets or operators, the limit hit in lark
        raise _too_deep(Span.point(path, 1, 1)) from None
    except LarkError as err:  # grammar-level surprises are still reported, located at 1:1
        raise ArchError(
            [Diagnostic("E001", f"cannot parse: {err}", Span.point(path, 1, 1))]
        ) from None
    comments = _comment_nodes(_SINK.tokens, path)
    end = Span.model_construct(
        file=path, line=1, column=1, end_line=text.count("\n") + 1, end_column=1
    )
    return ast.Module.model_construct(span=end, path=path, items=tuple(items), comments=comments)


def _too_deep(where: Span) -> ArchError:
    return ArchError(
        [
            Diagnostic(
                "E007",
                "expressions are nested too deeply to read",
                where,
                hint="split the expression with `let`",
            )
        ]
    )


def _comment_nodes(tokens: list[Token], path: str) -> tuple[ast.Comment, ...]:
    """COMMENT tokens seen by the lexer, as AST comments for the formatter."""
    return tuple(
        ast.Comment.model_construct(
            span=Span.model_construct(
                file=path,
                line=t.line,
                column=t.column,
                end_line=t.end_line,
                end_column=t.end_column,
            ),
            text=str(t).rstrip(),
        )
        for t in tokens
    )


class _CommentSink(threading.local):
    """Where the lexer callback puts comments during one `parse` call (per thread)."""

    tokens: list[Token]

    def __init__(self) -> None:
        self.tokens = []


_SINK = _CommentSink()


def _collect_comment(token: Token) -> Token:
    _SINK.tokens.append(token)
    return token


# ------------------------------------------------------------- syntax errors


def _syntax_error(err: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(err, UnexpectedCharacters):
        return _bad_character(err, text, path)
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        return _unexpected_end(err, text, path)
    assert isinstance(err, UnexpectedToken)
    return _unexpected_token(err, text, path)


def _bad_character(err: UnexpectedCharacters, text: str, path: str) -> Diagnostic:
    char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
    span = Span.point(path, err.line, err.column)
    if char == "'":
        return Diagnostic(
            "E002", "strings use double quotes", span, hint="write \"text\" instead of 'text'"
        )
    if char == '"':
        return Diagnostic(
            "E002",
            "this string is not closed on its line",
            span,
            hint='add the closing `"`; a string cannot span lines',
        )
    if char == "=" and text[err.pos_in_stream : err.pos_in_stream + 2] == "=>":
        return Diagnostic("E002", "`=>` is only allowed after the index name in `repeat`", span)
    shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}" if char else "end"
    # lark's `allowed` here is every terminal of the lexer state, too broad to help
    return Diagnostic("E002", f"unexpected character {shown}", span, hint=_CHAR_HINTS.get(char))


_CHAR_HINTS = {
    ";": "remove the `;`: statements need no terminator (each starts with a keyword)",
    "!": "negation is written `not`; `!=` is the only operator with `!`",
    "&": "logical and is written `and`",
    "|": "logical or is written `or`",
    "`": 'strings use double quotes: "text"',
}


def _unexpected_end(err: UnexpectedInput, text: str, path: str) -> Diagnostic:
    open_at = _unclosed_bracket(text)
    lines = text.rstrip().split("\n")  # point just after the last thing written
    span = Span.point(path, len(lines), len(lines[-1]) + 1)
    if open_at is not None:
        char, line, col = open_at
        closing = {"{": "}", "(": ")", "[": "]"}[char]
        d = Diagnostic(
            "E004",
            f"file ended before `{char}` was closed",
            span,
            hint=f"add the missing `{closing}`",
        )
        return d.with_note(f"`{char}` opened here", Span.point(path, line, col))
    expected = getattr(err, "expected", None) or getattr(err, "accepts", None) or set()
    return Diagnostic(
        "E004",
        "file ended in the middle of a statement",
        span,
        hint=_expected_text(expected) if expected else None,
    )


def _unexpected_token(err: UnexpectedToken, text: str, path: str) -> Diagnostic:
    tok: Token = err.token
    span = Span(
        file=path,
        line=tok.line,
        column=tok.column,
        end_line=tok.end_line or tok.line,
        end_column=tok.end_column or tok.column + 1,
    )
    found = f"`{tok.value}`"
    expected = set(err.accepts or err.expected or ())
    hint = _expected_text(expected)
    unclosed = _unclosed_before(tok, expected, text, path, span)
    if unclosed is not None:
        return unclosed
    unsupported = unsupported_construct(tok, expected, text)
    if unsupported is not None:
        message, hint = unsupported
        return Diagnostic("E003", message, span, hint=hint)
    if tok.type == "IF" and "->" in _line(text, tok.line)[: tok.column - 1]:
        return Diagnostic(
            "E003",
            "unexpected `if` after a pipe stage",
            span,
            hint="`->` binds loosest: write `x -> (f() if cond else g())` for a "
            "conditional stage, or `(x -> f()) if cond else y`",
        )
    if (
        tok.type != "NAME"
        and tok.value in _STATEMENT_WORDS
        and "CONST" in expected
        and not _expects_statement(expected)
    ):
        return Diagnostic(
            "E003",
            f"`{tok.value}` is a statement; statements belong inside a `space`, `net` or `block`",
            span,
            hint="for a value shared by the whole file write `const NAME = ...`"
            if tok.value == "let"
            else None,
        )
    if tok.type == "NAME" and _expects_statement(expected):
        word = str(tok.value)
        if word in ("if", "for", "else", "while", "def", "class", "return"):
            hint = (
                "statements start with `let`, `return`, `assert`, `scope`, `input`, `output` "
                "or `constraint`"
            )
        else:
            hint = f"bindings start with `let`: write `let {word} = ...`"
        return Diagnostic(
            "E003", f"unexpected name {found} where a statement should start", span, hint=hint
        )
    if tok.type == "EQUAL" and "COMPARE" in expected:
        return Diagnostic("E003", "unexpected `=`; comparisons use `==`", span)
    control = _control_word(text, tok)
    if control is not None:
        col = _line(text, tok.line).index(control) + 1
        return Diagnostic(
            "E003",
            f"`{control}` cannot start a statement",
            Span(
                file=path,
                line=tok.line,
                column=col,
                end_line=tok.line,
                end_column=col + len(control),
            ),
            hint=_CONTROL[control],
        )
    if tok.type == "NAME" and "CONST" in expected and "LET" not in expected:
        return Diagnostic(
            "E003",
            f"unexpected name {found} where a declaration should start",
            span,
            hint="declarations start with `import`, `const`, `op`, `block`, `space` or `net`",
        )
    if "ELSE" in expected and "RPAR" not in expected and "RSQB" not in expected:
        return Diagnostic(
            "E003",
            f"unexpected {found}: the conditional has no `else`",
            span,
            hint="write `a if condition else b`",
        )
    if tok.value == "as" and "LPAR" in expected:
        before = text[: tok.start_pos].rstrip() if isinstance(tok.start_pos, int) else ""
        callee = (
            before[
                len(
                    before.rstrip("_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
                ) :
            ]
            or "f"
        )
        return Diagnostic(
            "E003",
            "unexpected `as`: a label follows the `)` of a call",
            span,
            hint=f"write `{callee}() as ...`, with the parentheses",
        )
    if "COMMA" in expected and tok.type in _EXPR_START:
        return Diagnostic(
            "E003",
            f"unexpected {found}; is a `,` missing before it?",
            span,
            hint="separate arguments and list items with `,`",
        )
    return Diagnostic("E003", f"unexpected {found}", span, hint=hint)


_CONTROL = {
    "if": "conditionals are expressions: `let y = a if cond else b`; a conditional stage is "
    "`x -> (f() if cond else skip)`",
    "for": "loops are comprehensions, `[f(i) for i in range(n)]`, or stages, "
    "`x -> repeat(n) { i => f(i) }`",
    "while": "loops are comprehensions, `[f(i) for i in range(n)]`, or stages, "
    "`x -> repeat(n) { i => f(i) }`",
}


def _line(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _control_word(text: str, tok: Token) -> str | None:
    """`if`/`for`/`while` written at the start of the error's line, as a statement."""
    words = _line(text, tok.line).split()
    word = words[0] if words else ""
    if word in _CONTROL and _line(text, tok.line).index(word) + 1 < tok.column:
        return word
    return None


_CLOSERS = {"(": ("RPAR", ")"), "[": ("RSQB", "]"), "{": ("RBRACE", "}")}


def _unclosed_before(
    tok: Token, expected: set[str], text: str, path: str, span: Span
) -> Diagnostic | None:
    """`foo(a, b` then a new statement, or `}` closing a `(`: name the open bracket."""
    start = getattr(tok, "start_pos", None)
    open_at = _unclosed_bracket(text[:start]) if isinstance(start, int) else None
    if open_at is None:
        return None
    char, line, col = open_at
    terminal, closing = _CLOSERS[char]
    starts_new = (
        tok.type != "NAME" and tok.value in _STATEMENT_WORDS + _ITEM_WORDS and line < tok.line
    )
    wrong_close = tok.value in (")", "]", "}") and tok.value != closing
    if terminal not in expected or not (starts_new or wrong_close):
        return None
    return Diagnostic(
        "E003",
        f"unexpected `{tok.value}`: the `{char}` opened on line {line} is not closed",
        span,
        hint=f"add the missing `{closing}`",
    ).with_note(f"`{char}` opened here", Span.point(path, line, col))


def _expects_statement(expected: set[str]) -> bool:
    return any(w.upper() in expected for w in _STATEMENT_WORDS) or (
        "RBRACE" in expected and any(w.upper() in expected for w in _ITEM_WORDS + _STATEMENT_WORDS)
    )


_EXPR_START = {"NAME", "NUMBER", "STRING", "LSQB", "LPAR"}


_OPERATORS = {
    "ADD_OP",
    "MUL_OP",
    "COMPARE",
    "_POW",
    "RANGE",
    "IN",
    "NOT",
    "AND",
    "OR",
    "IF",
    "DOT",
    "LSQB",
    "LPAR",
    "STEP",
    "_AS",
    "MINUS",
}


def _readable(terminal: str) -> str:
    """How a user would write a terminal: `a name`, `->`, `..`."""
    if terminal in _READABLE:
        return _READABLE[terminal]
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return f"`{terminal.lower()}`"
    return f"`{pattern.value}`" if pattern.type == "str" else f"`{terminal.lower()}`"


def _expected_text(expected) -> str | None:
    expected = set(expected)
    if expected >= _EXPR_START:
        rest = (
            expected
            - _EXPR_START
            - {"MINUS", "CHOICE", "ONEOF", "REPEAT", "TRUE", "FALSE", "NONE", "NOT"}
        )
        others = sorted(_readable(e) for e in rest)
        return "expected " + ", ".join(["an expression", *others])
    groups = []
    for words, what in ((_STATEMENT_WORDS, "a statement"), (_ITEM_WORDS, "a declaration")):
        terminals = {"SPACE_KIND" if w in ("space", "net") else w.upper() for w in words}
        if terminals <= expected:
            expected -= terminals
            groups.append(what)
    if "ADD_OP" in expected and "MUL_OP" in expected:
        expected -= _OPERATORS
        groups.append("an operator")
    names = groups + sorted({_readable(e) for e in expected if e != "COMMENT"})
    if not names:
        return None
    if len(names) > 6:
        names = [*names[:6], "..."]
    return "expected " + ", ".join(names)


def _unclosed_bracket(text: str) -> tuple[str, int, int] | None:
    """The innermost bracket still open at the end of `text`, found with the real lexer
    (so brackets inside strings and comments do not count)."""
    stack: list[tuple[str, int, int]] = []
    closing = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}
    try:
        for tok in _lark().lex(text):
            if tok.type in ("LPAR", "LSQB", "LBRACE"):
                stack.append((str(tok), tok.line, tok.column))
            elif tok.type in closing and stack and stack[-1][0] == closing[tok.type]:
                stack.pop()
    except LarkError:
        pass  # a bad character later on: what was open before it is still the answer
    return stack[-1] if stack else None
