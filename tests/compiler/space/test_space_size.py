"""size(): the exact number of valid configs, checked against enumerating every config."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from archc.compiler.decide import possible_values
from archc.compiler.space import ChoiceTable
from archc.dsl.frontend import check_file
from archc.kernel.span import NOWHERE
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import ChoiceRef, apply, deps_of, divisors
from tests.compiler.space.space_helpers import (
    KINDS_SPACE,
    brute_force_size,
    elaborate,
    space_text,
    table_of,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "spaces"
EXPECTED_SIZES = {  # regression values; each is also checked against brute force below
    "autoformer_tiny": 3 * 3 * 4**14,  # dim, depth, (heads x ratio) per block
    "darts_cell_demo": 6**9 * 4**3 * 2,
    "hrnet_branches": 3**3 * 2**3 * 2**3,
    "mobile_small": 1_018_967_040,
    "vipnas_mbv3": 19_174_731_402_240_000,
    "vipnas_res50": 3_661_701_120,
    "autopose": 6**12 * 2**12,
    "vipnas_temporal": (19_174_731_402_240_000 * 4 * 3) ** 3,  # (mbv3 x fusion at x op)^T
    "tiny_temporal": (3 * 2 * (2 * 2 * 2) ** 3) ** 3,  # (fusion at x op x 3 stages)^T
    "demo": (2 * 3 * 2) ** 3 * 2,  # (width x depth x kernel)^3 stages x head width
    "vipnas_hrnet_w32": 1_735_297_483_958_599_680,
    "efficientpose": 248_289_275_869_214_073_063_696,
    "posenfs_hrnet": 210_832_519_264_920_576,
    "posenfs_mobilenet": 10_460_353_203,
    "darts_cifar": 8**28,  # 14 edges x 2 cell types, 8 candidates each
    "ofa_mbv3": (3 * 9**4) ** 5,  # (depth x (kernel x expansion) per block of 4)^5 stages
}

SMALL_SPACES = {
    "kinds": KINDS_SPACE,
    "independent": space_text(
        "    let a = choice(1, 2, 3)\n    let b = choice(false, true)\n"
        "    output h = image -> conv(8 * a) -> (relu if b else skip)"
    ),
    "two children of one parent": space_text(
        "    let w = choice(4, 6, 12)\n"
        "    let g = choice(divisors(w))\n"
        "    let c = choice(w, w * 2)\n"
        "    let k = choice(1, 3)\n"
        "    output h = image -> conv(c, k=k) -> conv(w, groups=g)"
    ),
    "repeated candidates": space_text(
        "    let a = choice(1..4)\n"
        "    let c = choice(a, a + 1, 3)\n"
        "    output h = image -> conv(8 * c, k=1)"
    ),
    "two parents, comprehension": space_text(
        "    let w = choice(8, 12, 16)\n"
        "    let e = choice(2, 3)\n"
        "    let g = choice([d for d in divisors(w * e) if d >= 4])\n"
        "    let k = choice(3, 5, 7)\n"
        "    output h = image -> conv(w * e, k=k, groups=g)"
    ),
    "two components": space_text(
        "    let a = choice(2, 4)\n"
        "    let b = choice(divisors(a))\n"
        "    let c = choice(3, 6)\n"
        "    let d = choice(divisors(c))\n"
        "    output h = image -> conv(8 * a, groups=b) -> conv(6 * c, groups=d)"
    ),
}


@pytest.mark.parametrize("name", list(SMALL_SPACES))
def test_size_equals_brute_force_on_small_spaces(name: str):
    space = elaborate(SMALL_SPACES[name])
    assert ChoiceTable.of(space).size() == brute_force_size(space.choices)


def test_size_of_the_kinds_space_by_hand(kinds_table):
    per_we = sum(len(divisors(w * e)) for w in (8, 16) for e in (1, 2, 3))
    assert kinds_table.size() == per_we * 2 * 2 * 2 * 2 * 2 * 3 == 3648


def test_repeated_candidates_are_counted_once():
    table = table_of(SMALL_SPACES["repeated candidates"])
    # a = 1: {1, 2, 3}; a = 2: {2, 3}; a = 3: {3, 4}; a = 4: {4, 5, 3}
    assert table.size() == 3 + 2 + 2 + 3


def _groups(specs: tuple[ChoiceSpec, ...]) -> list[tuple[ChoiceSpec, ...]]:
    """Choices grouped by the part of their name before the first dot (a stage), with
    groups merged when a domain reads a choice of another group, so that the count of
    the space is the product of the groups' counts."""
    group_of = {s.name: s.name.split(".")[0] for s in specs}
    parent = {g: g for g in group_of.values()}

    def root(g: str) -> str:
        while parent[g] != g:
            g = parent[g]
        return g

    for s in specs:
        for d in deps_of(s.domain):
            parent[root(group_of[d])] = root(group_of[s.name])
    groups: dict[str, list[ChoiceSpec]] = {}
    for s in specs:
        groups.setdefault(root(group_of[s.name]), []).append(s)
    return [tuple(m) for m in groups.values()]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.arch")), ids=lambda p: p.stem)
def test_size_of_the_examples_equals_brute_force(path: Path):
    (space,) = check_file(str(path)).spaces
    size = ChoiceTable.of(space).size()
    assert size == EXPECTED_SIZES[space.name]
    groups = _groups(space.choices)
    if all(_naive_count(g) <= BRUTE_FORCE_LIMIT for g in groups):
        assert size == math.prod(brute_force_size(group) for group in groups)


BRUTE_FORCE_LIMIT = 200_000  # configs of one group enumerated in memory


def _naive_count(group: tuple[ChoiceSpec, ...]) -> int:
    choices = {s.name: s for s in group}
    return math.prod(len(possible_values(s, choices)) for s in group)


def test_size_of_a_whole_example_equals_enumerating_it():
    (space,) = check_file(str(EXAMPLES / "hrnet_branches.arch")).spaces
    assert ChoiceTable.of(space).size() == brute_force_size(space.choices) == 1728


def _spec(name: str, domain, default) -> ChoiceSpec:
    return ChoiceSpec(
        name=name, kind="int", domain=domain, realise="elastic", default=default, span=NOWHERE
    )


def test_size_is_fast_on_a_vipnas_like_space():
    """Five stages of six choices, each with a group count that depends on width and ratio."""
    stages = "\n".join(
        f"    let x{i} = x{i - 1} -> stage({16 * (i + 1)}) as s{i}" for i in range(1, 6)
    )
    text = (
        "block stage(x: tensor, width: int) -> tensor {\n"
        "    let w = choice(width // 2, width * 3 // 4, width)\n"
        "    let depth = choice(1..4)\n    let k = choice(3, 5, 7)\n"
        "    let e = choice(2, 3, 4, 6)\n"
        "    let g = choice([d for d in divisors(w * e) if d >= 4])\n"
        "    let att = choice(false, true)\n"
        "    return x -> repeat(depth) { conv(w * e, k=k, groups=g) -> conv(w, k=1) }\n}\n"
        + space_text("    let x0 = image\n" + stages + "\n    output h = x5")
    )
    space = elaborate(text)
    table = ChoiceTable.of(space)
    start = time.perf_counter()
    size = table.size()
    assert time.perf_counter() - start < 1.0
    assert len(table) == 30
    assert size == math.prod(brute_force_size(g) for g in _groups(space.choices))


def test_many_children_of_one_parent_are_counted_without_enumerating_them():
    """Ten domains read one parent: 10^10 configs, but only five states to track."""
    p = ChoiceRef("p", "int")
    specs = [_spec("p", (1, 2, 3, 4, 5), 1)]
    specs += [_spec(f"c{i}", apply("divisors", apply("mul", p, 12 + i)), 1) for i in range(10)]
    expected = sum(
        math.prod(len(divisors(v * (12 + i))) for i in range(10)) for v in (1, 2, 3, 4, 5)
    )
    start = time.perf_counter()
    assert ChoiceTable(specs).size() == expected
    assert time.perf_counter() - start < 1.0


def test_chains_of_dependent_domains():
    """The front end lets a domain read fixed choices only; the table also counts chains."""
    a, b = ChoiceRef("a", "int"), ChoiceRef("b", "int")
    specs = [
        _spec("a", (2, 3, 4), 2),
        _spec("b", apply("range", 1, a, 1), 1),
        _spec("c", apply("range", b, a, 1), 1),
        _spec("d", (7, 8), 7),
    ]
    # sum over a of sum over b in 1..a of (a - b + 1), times |d|
    expected = sum(a_ - b_ + 1 for a_ in (2, 3, 4) for b_ in range(1, a_ + 1)) * 2
    assert ChoiceTable(specs).size() == brute_force_size(tuple(specs)) == expected


def test_configs_enumerates_exactly_the_valid_configs():
    (space,) = check_file(str(EXAMPLES / "hrnet_branches.arch")).spaces
    table = ChoiceTable.of(space)
    configs = list(table.configs())
    assert len(configs) == len(set(configs)) == table.size()
    assert all(table.validate(c) == c for c in configs[:50])
