"""The editor grammars (Pygments lexer, TextMate grammar) stay in step with the lark
grammar: every keyword of grammars/arch.lark is highlighted as one, every example lexes
without an error token, and the TextMate patterns are valid regular expressions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pygments.token import Error, Keyword, Name

from archc.grammars import GRAMMAR_PATH
from archc.grammars.pygments_lexer import ArchLexer

ROOT = Path(__file__).resolve().parents[2]
TEXTMATE = ROOT / "grammars" / "arch.tmLanguage.json"
KEYWORDS = set(re.findall(r'"([a-z]+)"', GRAMMAR_PATH.read_text())) | {
    "space",
    "net",
    "shares",
    "weights",
    "with",
}
FILES = sorted((ROOT / "examples").rglob("*.arch")) + sorted((ROOT / "grammars").rglob("*.arch"))


def test_every_keyword_of_the_grammar_is_a_keyword_for_pygments():
    for word in sorted(KEYWORDS):
        tokens = [(t, v) for t, v in ArchLexer().get_tokens(f"{word} ") if v.strip()]
        assert tokens and tokens[0][0] in Keyword, (word, tokens)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_lexes_without_errors(path):
    tokens = list(ArchLexer().get_tokens(path.read_text()))
    assert not [v for t, v in tokens if t in Error]
    assert "".join(v for _, v in tokens).rstrip("\n") == path.read_text().rstrip("\n")


def test_pygments_finds_the_lexer_by_name_and_file_name():
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert isinstance(get_lexer_by_name("arch"), ArchLexer)
    assert isinstance(get_lexer_for_filename("space.arch"), ArchLexer)


def test_block_names_are_functions():
    tokens = [(t, v) for t, v in ArchLexer().get_tokens("block mbconv(x: tensor) -> tensor {")]
    assert (Name.Function, "mbconv") in tokens


def _patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match", "begin", "end"):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def test_the_textmate_grammar_is_valid_and_knows_every_keyword():
    grammar = json.loads(TEXTMATE.read_text())
    assert grammar["scopeName"] == "source.arch" and grammar["fileTypes"] == ["arch"]
    patterns = list(_patterns(grammar["repository"]))
    for pattern in patterns:
        re.compile(pattern)  # Oniguruma reads these as Python does: no engine-specific syntax
    keyword = re.compile("|".join(p for p in patterns if p.startswith(r"\b(")))
    assert {w for w in KEYWORDS if not keyword.fullmatch(w)} == set()
    included = {p["include"].lstrip("#") for p in grammar["patterns"]}
    assert included == set(grammar["repository"])
