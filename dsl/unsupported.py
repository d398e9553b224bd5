"""Python constructs the language leaves out, named when the parser meets them.

Users coming from PyTorch reach for tuples, `+=`, dictionaries, `lambda`, f-strings
and nested unpacking; "unexpected `,`" would not tell them that the construct
itself is missing. `unsupported_construct` recognises each from the token the
parser stopped at and the text before it, and says what to write instead
(docs/language.md, "What the language leaves out").
"""

from __future__ import annotations

from lark import Token


def unsupported_construct(tok: Token, expected: set[str], text: str) -> tuple[str, str] | None:
    """Python constructs the language leaves out, named as such (message, hint)."""
    start = tok.start_pos if isinstance(tok.start_pos, int) else 0
    before = text[:start].rstrip()
    word = before[len(before.rstrip(_WORD_CHARS)) :]
    if tok.type == "STRING" and word in ("f", "r", "b") and not text[:start].endswith(" "):
        return (
            "prefixed strings (f-strings) are not supported",
            "join strings with `+` and `str(x)`",
        )
    if word == "lambda":
        return "`lambda` is not supported", "write a `block` and pass it by name"
    if tok.type == "LBRACE" and "LPAR" in expected:
        return (
            "dictionaries (`{...}`) are not supported",
            "use lists, or two lists read together with `zip`",
        )
    if tok.type == "COMMA" and "RPAR" in expected and "COMMA" not in expected:
        return "tuples are not supported", "write a list: `[a, b]`"
    augmented = text[start + 1 : start + 2] == "="
    if tok.type in ("ADD_OP", "MUL_OP") and "EQUAL" in expected and augmented:
        return (
            f"`{tok.value}=` is not supported: bindings are immutable",
            f"shadow the name instead: `let {word or 'x'} = {word or 'x'} {tok.value} ...`",
        )
    if tok.type == "LPAR" and before.endswith("for"):
        return (
            "nested unpacking in a loop target is not supported",
            "unpack one level: `for a, b in pairs`",
        )
    return None


_WORD_CHARS = "_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
