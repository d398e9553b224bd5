"""The parser builds AST nodes with `model_construct` (no pydantic validation: building
the validators costs a quarter of a second per process, and `archc check` runs on
every save). That is only sound if validation would change nothing: every field
already has the exact type and value pydantic would produce. These tests validate
every node of every .arch file in the repository and compare, type for type."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from archc.dsl.ast import Node
from archc.dsl.parser import parse
from archc.kernel.diagnostics import ArchError

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for p in ROOT.rglob("*.arch") if ".venv" not in p.parts)


def _same(a, b) -> bool:
    """Equal and of the same types all the way down (a list is not a tuple, a lark
    Token is not a str)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, BaseModel):
        return all(_same(getattr(a, f), getattr(b, f)) for f in type(a).model_fields)
    return a == b


def _nodes(value):
    if isinstance(value, tuple):
        for v in value:
            yield from _nodes(v)
    elif isinstance(value, BaseModel):
        yield value
        for f in type(value).model_fields:
            yield from _nodes(getattr(value, f))


def _validated(node: BaseModel) -> BaseModel:
    fields = {f: getattr(node, f) for f in type(node).model_fields}
    return type(node).model_validate(fields)


def test_there_are_files_to_check():
    assert len(FILES) > 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_validation_would_change_nothing(path: Path):
    try:
        module = parse(path.read_text(), str(path))
    except ArchError:
        pytest.skip("a file with a syntax error on purpose")
    checked = 0
    for node in _nodes(module):
        again = _validated(node)
        assert _same(node, again), (
            f"{type(node).__name__} at {node.span if isinstance(node, Node) else ''}"
        )
        checked += 1
    assert checked > 0
