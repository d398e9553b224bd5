"""Properties over random tables and seeds: every built config is valid, vectors round-trip,
sizes match enumeration, and the random operations are reproducible."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archc.compiler.space import ChoiceTable, Config, ConfigError
from archc.dsl.frontend import check_file
from archc.kernel.span import NOWHERE
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import ChoiceRef, apply, evaluate
from tests.compiler.space.space_helpers import (
    KINDS_SPACE,
    brute_force_size,
    enumerate_configs,
    space_text,
    table_of,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "spaces"
TABLES = {
    "kinds": table_of(KINDS_SPACE),
    **{
        p.stem: ChoiceTable.of(check_file(str(p)).spaces[0])
        for p in sorted(EXAMPLES.glob("*.arch"))
    },
}
WE_G = table_of(
    space_text(
        "    let w = choice(8, 16)\n    let e = choice(1, 2, 3)\n"
        "    let g = choice(divisors(w * e))\n"
        "    output h = image -> conv(w * e, groups=g)"
    )
)

tables = st.sampled_from(sorted(TABLES)).map(TABLES.__getitem__)
seeds = st.integers(0, 2**32)


def _dependent_domain(draw, names: list[str]):
    """A domain over one or two earlier choices; every value stays between 1 and 12."""
    p, q = (ChoiceRef(draw(st.sampled_from(names)), "int") for _ in range(2))
    form = draw(st.sampled_from(["range", "divisors", "list", "if"]))
    if form == "range":
        return apply("range", 1, apply("min", p, 4), 1)
    if form == "divisors":
        return apply("divisors", apply("min", apply("mul", p, q), 12))
    if form == "list":  # may repeat a candidate
        return (p, apply("min", apply("add", p, 1), 5), 3)
    return (apply("if", apply("gt", p, q), q, p), 6)


@st.composite
def random_tables(draw) -> ChoiceTable:
    """1-3 fixed choices over 1..4, then 0-3 dependent ones (which may read each other)."""
    specs: list[ChoiceSpec] = []
    defaults: dict[str, int] = {}
    for i in range(draw(st.integers(1, 3))):
        domain = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True)))
        specs.append(_spec(f"r{i}", domain, domain[0]))
        defaults[f"r{i}"] = domain[0]
    for i in range(draw(st.integers(0, 3))):
        domain = _dependent_domain(draw, [s.name for s in specs])
        values = evaluate(domain, defaults)
        default = values[0] if isinstance(values, tuple) else values
        specs.append(_spec(f"d{i}", domain, default))
        defaults[f"d{i}"] = default
    return ChoiceTable(specs)


def _spec(name: str, domain, default) -> ChoiceSpec:
    return ChoiceSpec(
        name=name, kind="int", domain=domain, realise="elastic", default=default, span=NOWHERE
    )


def _specs(table: ChoiceTable) -> tuple[ChoiceSpec, ...]:
    return tuple(_spec(c.name, c.expression, c.default) for c in table)


# ---- random tables


@settings(max_examples=150, deadline=None)
@given(random_tables())
def test_size_equals_enumeration_on_random_tables(table: ChoiceTable):
    assert table.size() == brute_force_size(_specs(table))


@settings(max_examples=60, deadline=None)
@given(random_tables())
def test_every_enumerated_config_validates_and_round_trips(table: ChoiceTable):
    for config in enumerate_configs(_specs(table)):
        vector = table.encode(config)
        assert table.decode(vector) == config
        assert all(0 <= i < n for i, n in zip(vector, table.cardinalities(config), strict=True))


@settings(deadline=None)
@given(random_tables(), seeds)
def test_built_configs_validate_on_random_tables(table: ChoiceTable, seed: int):
    rng = random.Random(seed)
    built = [
        table.default(),
        table.per_choice_end("largest"),
        table.per_choice_end("smallest"),
        table.sample(rng),
    ]
    built += [table.mutate(built[-1], rng, 0.5), table.crossover(built[1], built[2], rng)]
    for config in built:
        assert table.validate(config) == config


# ---- the example spaces and the kinds space


@given(tables, seeds)
def test_encode_decode_round_trip(table: ChoiceTable, seed: int):
    config = table.sample(seed)
    vector = table.encode(config)
    assert table.decode(vector) == config
    assert table.encode(table.decode(vector)) == vector


@given(tables, st.data())
def test_clipped_decoding_of_any_vector_is_valid(table: ChoiceTable, data):
    vector = data.draw(st.lists(st.integers(-3, 600), min_size=len(table), max_size=len(table)))
    config = table.decode(vector, clip=True)
    assert table.validate(config) == config


@given(tables, seeds)
def test_sample_default_largest_smallest_validate(table: ChoiceTable, seed: int):
    for config in (
        table.sample(seed),
        table.default(),
        table.per_choice_end("largest"),
        table.per_choice_end("smallest"),
    ):
        assert table.validate(config) == config
        assert list(config) == list(table.names)


@given(tables, seeds, st.floats(0, 1))
def test_mutants_are_valid_and_reproducible(table: ChoiceTable, seed: int, prob: float):
    parent = table.sample(seed)
    child = table.mutate(parent, seed + 1, prob)
    assert table.validate(child) == child
    assert table.mutate(parent, seed + 1, prob) == child


@given(tables, seeds)
def test_children_of_crossover_are_valid_and_inherit(table: ChoiceTable, seed: int):
    a, b = table.sample(seed), table.sample(seed + 1)
    child = table.crossover(a, b, seed + 2)
    assert table.validate(child) == child
    for c in table:
        if not c.dependent:  # only a repaired dependent value may come from neither
            assert child[c.name] in (a[c.name], b[c.name])
    assert table.crossover(a, a, seed) == a


# ---- sampling


def test_sample_is_deterministic_per_seed():
    table = TABLES["mobile_small"]
    assert table.sample(7) == table.sample(7) == table.sample(random.Random(7))
    assert len({table.sample(s) for s in range(20)}) == 20
    rng = random.Random(3)
    first, second = table.sample(rng), table.sample(rng)
    rng = random.Random(3)
    assert (table.sample(rng), table.sample(rng)) == (first, second) and first != second


def test_sample_reaches_every_config_of_a_small_dependent_space():
    assert {WE_G.sample(seed) for seed in range(3000)} == {
        Config(c, "s") for c in enumerate_configs(_specs(WE_G))
    }
    assert WE_G.size() == 38


def test_seeds_must_be_ints_or_generators():
    with pytest.raises(TypeError) as err:
        WE_G.sample(1.5)  # type: ignore[arg-type]
    assert str(err.value) == "a seed is an int or a random.Random, got 1.5"


# ---- mutation and crossover


def test_mutation_with_probability_zero_keeps_the_config():
    config = WE_G.sample(1)
    assert WE_G.mutate(config, 5, prob=0) == config


def test_mutation_with_probability_one_changes_every_choice_that_can_change():
    for seed in range(50):
        parent = WE_G.sample(seed)
        child = WE_G.mutate(parent, seed, prob=1)
        for name in WE_G.names:
            assert child[name] != parent[name] or WE_G.domain_of(name, child) == (parent[name],)


def test_mutation_repairs_a_child_whose_parent_changed():
    parent = Config({"w": 8, "e": 3, "g": 24}, "s")  # 24 divides 8 * 3 but not 16 * e
    children = [WE_G.mutate(parent, seed, prob=0.4) for seed in range(200)]
    assert all(WE_G.validate(c) == c for c in children)
    assert any(c["w"] == 16 and c["g"] != 24 for c in children)


def test_mutation_default_rate_and_bad_rates():
    config = WE_G.sample(0)
    changed = sum(WE_G.mutate(config, s) != config for s in range(300))
    assert 150 < changed < 300  # each of 3 choices at 1/3: 1 - (2/3)^3 = 70% change
    with pytest.raises(ValueError) as err:
        WE_G.mutate(config, 0, prob=1.5)
    assert str(err.value) == "a mutation probability is between 0 and 1, got 1.5"


def test_crossover_repairs_values_neither_parent_can_give():
    a = Config({"w": 8, "e": 3, "g": 24}, "s")
    b = Config({"w": 16, "e": 1, "g": 16}, "s")
    children = [WE_G.crossover(a, b, seed) for seed in range(100)]
    assert all(WE_G.validate(c) == c for c in children)
    # w = 16, e = 3: neither 24 nor 16 fails, both divide 48; w = 8, e = 1: both fail
    assert any(c["w"] == 8 and c["e"] == 1 and c["g"] not in (24, 16) for c in children)


def test_variation_rejects_invalid_parents():
    bad = {"w": 8, "e": 3, "g": 5}
    message = (
        "invalid config for space `s`: `g` = 5 is not a candidate when `w` = 8, "
        "`e` = 3; candidates: 1, 2, 3, 4, 6, 8, 12, 24"
    )
    with pytest.raises(ConfigError) as err:
        WE_G.mutate(bad, 0)
    assert str(err.value) == message
    with pytest.raises(ConfigError) as err:
        WE_G.crossover(WE_G.sample(0), bad, 0)
    assert str(err.value) == message
