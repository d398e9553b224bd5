"""docs/language.md lists every block of the standard library with its parameters and
docstring, in file order: the tables must follow grammars/std/ when a block changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archc.dsl import ast
from archc.dsl.loader import STD_DIR, std_modules
from archc.dsl.parser import parse

LANGUAGE = Path(__file__).resolve().parents[1] / "docs" / "language.md"


def std_rows(module: str) -> list[str]:
    """The table rows docs/language.md must hold for std.`module`."""
    path = STD_DIR / f"{module}.arch"
    tree = parse(path.read_text(), str(path))
    return [
        f"| `{d.name}({', '.join(p.name for p in d.params)})` | {d.doc} |"
        for d in tree.items
        if isinstance(d, ast.BlockDecl)
    ]


def documented_rows(module: str) -> list[str]:
    text = LANGUAGE.read_text()
    match = re.search(
        rf"^`std\.{module}`:\n\n\| block \| doc \|\n\| --- \| --- \|\n"
        r"((?:\|.*\n)*)",
        text,
        flags=re.M,
    )
    assert match, f"docs/language.md has no table for std.{module}"
    return match.group(1).splitlines()


@pytest.mark.parametrize("module", std_modules())
def test_the_std_tables_list_every_block_with_its_parameters_and_doc(module):
    assert documented_rows(module) == std_rows(module)
