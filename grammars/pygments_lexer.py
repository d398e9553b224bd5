"""A Pygments lexer for `.arch` files, so documentation and tools highlight them.

Registered as the Pygments lexer `arch` (aliases `archc`; files `*.arch`) through the
`pygments.lexers` entry point, so `pygmentize -l arch FILE` and Markdown renderers
that use Pygments highlight ```arch blocks. Pygments is needed only to use it.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

ITEM_WORDS = ("import", "const", "op", "block", "space", "net")
STATEMENT_WORDS = (
    "let",
    "return",
    "assert",
    "scope",
    "input",
    "output",
    "constraint",
    "for",
    "shares",
    "weights",
    "with",
)
EXPRESSION_WORDS = ("as", "choice", "oneof", "repeat", "step", "if", "else", "in", "not")
EXPRESSION_WORDS += ("and", "or")
CONSTANTS = ("true", "false", "none")
TYPES = ("int", "float", "bool", "str", "tensor", "op", "any", "list")
REALISATIONS = ("elastic", "weighted", "gumbel", "sampled", "policy")


class ArchLexer(RegexLexer):
    """The .arch language of archc (grammars/arch.lark)."""

    name = "archc"
    aliases: ClassVar[list[str]] = ["arch", "archc"]
    filenames: ClassVar[list[str]] = ["*.arch"]
    mimetypes: ClassVar[list[str]] = ["text/x-arch"]

    _name = r"([A-Za-z_][A-Za-z_0-9]*)"
    tokens: ClassVar[dict] = {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"([^"\\\n]|\\.)*"', String.Double),
            (r"(block|op)(\s+)" + _name, bygroups(Keyword, Whitespace, Name.Function)),
            (r"(space|net)(\s+)" + _name, bygroups(Keyword, Whitespace, Name.Class)),
            (words(ITEM_WORDS + STATEMENT_WORDS, suffix=r"\b"), Keyword),
            (words(EXPRESSION_WORDS, suffix=r"\b"), Keyword),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (
                r"(:)(\s*)" + words(TYPES, suffix=r"\b").get(),
                bygroups(Punctuation, Whitespace, Keyword.Type),
            ),
            (words(REALISATIONS, prefix=r"(?<=realise=)", suffix=r"\b"), Name.Builtin),
            (r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?(ms|us|s|K|M|G|T)?(?![A-Za-z_0-9])", Number),
            (r"[A-Za-z_][A-Za-z_0-9]*(?=\s*\()", Name.Function),
            (r"[A-Za-z_][A-Za-z_0-9]*", Name),
            (r"->|=>|\.\.|\*\*|//|==|!=|<=|>=|[-+*/%<>=]", Operator),
            (r"[()\[\]{},.:]", Punctuation),
            (r".", Text),
        ]
    }
