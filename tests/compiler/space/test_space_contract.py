"""`Space` is the one contract a search driver uses: its variation and feasibility calls
return valid configs, follow their seed, and agree with the checks they stand on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archc
from archc.compiler.space.config import ConfigError
from tests.example_spaces import SPACES

NAMES = ["vipnas_mbv3", "mobile_small", "vipnas_temporal", "hrnet_branches", "posenfs_mobilenet"]
_LOADED: dict[str, archc.Space] = {}


def _space(name: str) -> archc.Space:
    if name not in _LOADED:
        _LOADED[name] = archc.load(next(p for p in SPACES if p.stem == name))
    return _LOADED[name]


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(NAMES), a=st.integers(0, 10**6), b=st.integers(0, 10**6))
def test_mutate_and_crossover_give_valid_configs_that_follow_the_seed(name, a, b) -> None:
    space = _space(name)
    x, y = space.sample(a), space.sample(b)
    child = space.crossover(x, y, seed=a + b)
    assert space.validate(child) == child
    assert child == space.crossover(x, y, seed=a + b)
    mutant = space.mutate(x, seed=a, prob=1.0)
    assert space.validate(mutant) == mutant
    assert mutant == space.mutate(x, seed=a, prob=1.0)
    changed = [c.name for c in space.choices if mutant[c.name] != x[c.name]]
    assert changed, "prob=1 re-draws every choice; one with another value must change"
    assert space.mutate(x, seed=a, prob=0.0) == x


def test_crossover_of_independent_choices_takes_every_value_from_a_parent() -> None:
    space = _space("vipnas_mbv3")
    x, y = space.sample(1), space.sample(2)
    child = space.crossover(x, y, seed=7)
    assert all(child[n] in (x[n], y[n]) for n in space.table.names)
    assert {n for n in space.table.names if child[n] != x[n]}  # not a copy of one parent


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(NAMES), seed=st.integers(0, 10**6))
def test_feasible_is_the_constraints_and_limits_together(name, seed) -> None:
    space = _space(name)
    config = space.sample(seed)
    low, high = space.cost_range().macs
    limit = (low + high) / 2
    cost = space.cost(config)
    expected = not space.violations(config, cost) and cost.macs <= limit
    assert space.feasible(config, max_macs=limit) is expected
    assert space.feasible(config, max_params=cost.params) is not space.violations(config, cost)
    if not space.violations(config, cost):
        assert not space.feasible(config, max_params=cost.params - 1)


def test_feasible_refuses_an_invalid_config() -> None:
    space = _space("vipnas_mbv3")
    with pytest.raises(ConfigError):
        space.feasible({"no.such.choice": 1})


def test_sample_within_draws_feasible_configs() -> None:
    space = _space("vipnas_mbv3")
    low, high = space.cost_range().macs
    limit = low + (high - low) / 10
    for seed in range(5):
        assert space.feasible(space.sample_within(seed, max_macs=limit), max_macs=limit)


@pytest.mark.parametrize("name", NAMES)
def test_encode_decode_round_trip_and_the_ends_are_valid(name) -> None:
    space = _space(name)
    for seed in range(10):
        config = space.sample(seed)
        assert space.decode(space.encode(config)) == config
    for end in (space.largest(), space.smallest()):
        assert space.validate(end) == end
    assert space.cost(space.smallest()).macs <= space.cost(space.largest()).macs


def test_the_contract_is_documented() -> None:
    doc = archc.Space.__doc__ or ""
    for call in ("sample", "mutate", "crossover", "encode", "canonical", "feasible", "cost_many"):
        assert f"`{call}" in doc, call
