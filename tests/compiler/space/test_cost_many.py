"""`Space.cost_many` equals `Space.cost` exactly, config by config, on every example space.

Configs are sampled (`space.sample(seed)`), handed over as `Config`s or plain dicts,
and for the temporal space partly copied from frame 1 so that weight sharers both
diverge and share. autopose is slow only because its cost model is (5,140 untabulated
terms: ~8 s to build on two cores), so its property runs in `make test-slow`.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archc
from archc.compiler.space.config import Config, ConfigError
from tests.example_spaces import SPACES, latency_table_for

SLOW_COST_MODEL = {"autopose"}
_LOADED: dict[str, archc.Space] = {}


def _space(name: str):
    if name not in _LOADED:
        _LOADED[name] = archc.load(next(p for p in SPACES if p.stem == name))
    return _LOADED[name]


def _params() -> list:
    return [
        pytest.param(p.stem, id=p.stem, marks=pytest.mark.slow)
        if p.stem in SLOW_COST_MODEL
        else pytest.param(p.stem, id=p.stem)
        for p in SPACES
    ]


def _shared_frames(space, config, seed: int):
    """`config` with some stages of frames 2.. copied from frame 1 (sharers then share)."""
    rng, values = random.Random(seed), dict(config)
    copy = {}
    for name in values:
        match = re.match(r"frame\[(\d+)\]\.(.*)\.[^.]+$", name)
        if match and match.group(1) != "1":
            stage = match.group(2)
            if copy.setdefault((match.group(1), stage), rng.random() < 0.5):
                source = re.sub(r"^frame\[\d+\]", "frame[1]", name)
                values[name] = values.get(source, values[name])
    try:
        return space.validate(values)
    except ConfigError:
        return config


def _assert_equal(space, configs, batch) -> None:
    assert len(batch) == len(configs)
    assert batch.params.dtype == np.int64 and batch.macs.dtype == np.int64
    for i, config in enumerate(configs):
        assert batch[i] == space.cost(config), f"config {i}"


@pytest.mark.parametrize("name", _params())
@settings(max_examples=4, deadline=None)
@given(
    seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=6),
    plain=st.booleans(),
)
def test_cost_many_equals_cost(name: str, seeds: list[int], plain: bool) -> None:
    space = _space(name)
    configs = [space.sample(s) for s in seeds]
    if any(c.startswith("frame[") for c in space.table.names):
        configs += [_shared_frames(space, c, s) for c, s in zip(configs, seeds, strict=True)]
    configs += [space.largest(), space.smallest(), space.default()]
    if plain:
        configs = [dict(c) for c in configs]
    _assert_equal(space, configs, space.cost_many(configs))


def test_the_temporal_space_has_sharers_that_share_and_diverge() -> None:
    space = _space("vipnas_temporal")
    model = space.cost_model()
    assert model.shared, "the temporal space should have weight sharers"
    configs = [space.sample(s) for s in range(4)]
    configs += [_shared_frames(space, c, s) for s, c in enumerate(configs)]
    shared = [sum(group(c) for group in model.shared) for c in configs]
    assert min(shared) < max(shared)
    _assert_equal(space, configs, space.cost_many(configs))


def test_an_empty_batch_and_a_single_config() -> None:
    space = _space("vipnas_mbv3")
    empty = space.cost_many([])
    assert len(empty) == 0 and empty.params.shape == (0,) and empty.macs.dtype == np.int64
    assert empty.latency_ms is None
    one = space.sample(7)
    _assert_equal(space, [one], space.cost_many([one]))
    assert not space.cost_many([one]).params.flags.writeable
    _assert_equal(space, [one], space.cost_many(iter([one])))


def _error(call) -> str:
    with pytest.raises(ConfigError) as err:
        call()
    return str(err.value)


@pytest.mark.parametrize(
    "change",
    [
        {"nonsense": 3},
        {"s1.k": 4},
        {"s1.k": True},
        {"s1.k": 3.0},
        {"s1.se": 1},
        {"s2.e": 3, "s2.g": 999},
    ],
    ids=["unknown choice", "value", "bool for int", "float for int", "int for bool", "dependent"],
)
def test_a_bad_config_gives_the_error_of_cost(change) -> None:
    space = _space("vipnas_mbv3")
    good = space.sample(1)
    bad = {**good, **change}
    expected = _error(lambda: space.cost(bad))
    assert _error(lambda: space.cost_many([good, bad, {**good, "x": 1}])) == expected
    missing = {k: v for k, v in good.items() if k != "s3.k"}
    assert _error(lambda: space.cost_many([missing, bad])) == _error(lambda: space.cost(missing))


def test_a_config_of_another_space_is_refused_like_cost() -> None:
    space, other = _space("vipnas_mbv3"), _space("mobile_small")
    foreign = Config(dict(space.sample(2)), other.name)
    assert _error(lambda: space.cost_many([foreign])) == _error(lambda: space.cost(foreign))


def test_latency_with_a_table_equals_cost() -> None:
    space = _space("mobile_small")
    configs = [space.sample(s) for s in range(5)]
    lut = latency_table_for(space, configs)
    batch = space.cost_many(configs, lut=lut)
    assert batch.latency_ms.dtype == np.float64
    for i, config in enumerate(configs):
        assert batch[i] == space.cost(config, lut=lut)
