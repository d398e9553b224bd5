"""Helpers for the choice-table tests: small spaces written in the DSL, and the oracle.

The oracle enumerates every config the slow, obvious way (each choice over its
domain as the front end wrote it, duplicates included, then distinct dicts
counted), so it shares no code with `counting.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from archc.compiler.space import ChoiceTable
from archc.dsl.frontend import check_file
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import evaluate

# Every kind, a dependent domain, and names that differ by one letter.
KINDS_SPACE = """
space kinds {
    input image: [3, 64, 48]
    let w = choice(8, 16)
    let e = choice(1, 2, 3)
    let g = choice(divisors(w * e))
    let k = choice(3, 5)
    let r = choice(0.25, 0.5, realise=sampled)
    let act = choice("relu", "hswish")
    let on = choice(false, true)
    let y = image -> conv(8)
    output h = choice(image, y) as src -> conv(w * e, k=k, groups=g)
        -> oneof(relu, skip, c1: conv(8, k=1)) as head -> (relu if on else skip)
}
"""


def elaborate(text: str):
    """The single space of `text`, which must check without diagnostics."""
    result = check_file("mem.arch", text)
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    (space,) = result.spaces
    return space


def table_of(text: str) -> ChoiceTable:
    return ChoiceTable.of(elaborate(text))


def space_text(body: str, name: str = "s") -> str:
    """A space with one input `image` around `body` (which must write an output)."""
    return f"space {name} {{\n    input image: [3, 64, 48]\n{body}\n}}\n"


def enumerate_configs(specs: tuple[ChoiceSpec, ...]) -> Iterator[dict[str, Any]]:
    """Every assignment, choice by choice over the domain evaluated as written."""

    def walk(i: int, partial: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if i == len(specs):
            yield dict(partial)
            return
        domain = evaluate(specs[i].domain, partial)
        for value in domain if isinstance(domain, tuple) else (domain,):
            partial[specs[i].name] = value
            yield from walk(i + 1, partial)
        partial.pop(specs[i].name, None)

    yield from walk(0, {})


def brute_force_size(specs: tuple[ChoiceSpec, ...]) -> int:
    """The number of distinct configs (a candidate listed twice is one config)."""
    return len({tuple(sorted(c.items())) for c in enumerate_configs(specs)})
