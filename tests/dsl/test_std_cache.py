"""Parsed std modules come from a per-user cache: what it gives back must be exactly
what parsing gives, and a damaged entry must only cost a parse."""

from __future__ import annotations

import pytest
from test_parse_unvalidated import _same

from archc.dsl import std_cache
from archc.dsl.parser import parse
from archc.grammars import STD_DIR

STD = sorted(STD_DIR.glob("*.arch"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "archc"


@pytest.mark.parametrize("path", STD, ids=lambda p: p.name)
def test_a_cached_module_is_exactly_the_parsed_one(cache, path):
    text, key = path.read_text(), f"std/{path.name}"
    first = std_cache.parse_std(text, key)
    assert list(cache.glob("std-*.ast"))
    again = std_cache.parse_std(text, key)
    assert again is not first
    assert _same(again, parse(text, key)) and _same(first, again)


def test_another_text_is_another_entry_and_a_damaged_one_is_parsed_again(cache):
    text = (STD_DIR / "prelude.arch").read_text()
    std_cache.parse_std(text, "std/prelude.arch")
    std_cache.parse_std(text + "\nconst extra = 1\n", "std/prelude.arch")
    entries = sorted(cache.glob("std-*.ast"))
    assert len(entries) == 2
    for entry in entries:
        entry.write_bytes(b"not a pickle")
    module = std_cache.parse_std(text, "std/prelude.arch")
    assert _same(module, parse(text, "std/prelude.arch"))


def test_nothing_is_cached_in_a_directory_others_can_write(cache):
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    text = (STD_DIR / "prelude.arch").read_text()
    assert _same(std_cache.parse_std(text, "std/prelude.arch"), parse(text, "std/prelude.arch"))
    assert not list(cache.glob("std-*.ast"))
