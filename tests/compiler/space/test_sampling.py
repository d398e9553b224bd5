"""Sampling within cost limits (`space.sample_within`, `compiler.space.sampling`): uniform
draws when they meet the limits, repair walks when the limits admit few configs, a clear
error when none can be found."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import archc
from archc.compiler.space.sampling import Limit, Sampler, limits_of

MOBILE = Path(__file__).resolve().parents[3] / "examples" / "spaces" / "mobile_small.arch"
MIN_MACS, MAX_MACS = 33_689_088, 2_998_636_800  # `archc info`, exact


@pytest.fixture(scope="module")
def space():
    return archc.load(MOBILE)


@pytest.mark.parametrize(
    "op, value, excess",
    [
        ("<=", 90, 0),
        ("<=", 100, 0),
        ("<=", 150, 0.5),
        ("<", 100, 0.01),
        ("<", 99, 0),
        (">=", 100, 0),
        (">=", 50, 0.5),
        (">", 100, 0.01),
        (">", 101, 0),
    ],
)
def test_excess_is_relative_to_the_bound_and_zero_when_the_limit_holds(op, value, excess):
    assert Limit("macs", op, 100).excess(value) == pytest.approx(excess)


def test_limits_are_the_files_constraints_and_the_extra_ones(space):
    file = [(c.metric, c.op, c.bound, c.scope) for c in space.constraints if c.metric != "latency"]
    got = [
        (lim.metric, lim.op, lim.bound, lim.scope)
        for lim in limits_of(space, max_macs=5e8, max_params=2e6)
    ]
    assert got == [*file, ("macs", "<=", 5e8, None), ("params", "<=", 2e6, None)]


def test_loose_limits_take_the_first_uniform_draw_that_meets_them(space):
    sampler = Sampler(space, limits_of(space, max_macs=MAX_MACS))
    rng, reference = random.Random(4), random.Random(4)
    assert sampler(rng) == space.sample(reference)
    assert sampler.repaired == 0


def test_tight_limits_are_met_by_repair_walks(space):
    """A budget just above the smallest config: uniform draws essentially never meet
    it, a repair walk does, and the same seed gives the same config."""
    budget = MIN_MACS * 1.3
    sampler = Sampler(space, limits_of(space, max_macs=budget))
    configs = [sampler(random.Random(seed)) for seed in range(3)]
    assert sampler.repaired == 3
    for config in configs:
        assert space.cost(config).macs <= budget
        assert space.violations(config) == []
    assert space.sample_within(1, max_macs=budget) == configs[1]


def test_an_impossible_limit_is_a_clear_error(space):
    with pytest.raises(ValueError, match="no config of `mobile_small` within the limits"):
        space.sample_within(0, max_macs=MIN_MACS - 1)


def test_a_params_floor_walks_upwards(space):
    floor = 6_000_000
    sampler = Sampler(space, (Limit("params", ">=", floor),))
    config = sampler(random.Random(2))
    assert space.cost(config).params >= floor
