"""The tabulated latency model equals `LatencyTable.predict`, the reference walk.

A latency table is made for each space from the units of a few sampled configs
(values derived from the key, so each unit has its own), then `Space.cost`,
`Space.cost_many` and the scoped model must predict what `predict` does for those
configs; a unit the table lacks raises the same error on every path; a table saved
to a file is read once while the file is unchanged.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archc
from archc.compiler.cost import latency_table
from archc.compiler.cost.latency_table import (
    LatencyTable,
    LatencyTableError,
)
from tests.example_spaces import SPACES, latency_table_for

FAST = [p for p in SPACES if p.stem not in {"autopose", "ofa_mbv3", "autoformer_tiny"}]
_LOADED: dict[str, archc.Space] = {}


def _space(name: str) -> archc.Space:
    if name not in _LOADED:
        _LOADED[name] = archc.load(next(p for p in SPACES if p.stem == name))
    return _LOADED[name]


@pytest.mark.parametrize("path", FAST, ids=lambda p: p.stem)
def test_cost_and_cost_many_predict_what_the_walk_predicts(path) -> None:
    space = _space(path.stem)
    configs = [space.sample(seed) for seed in range(6)]
    table = latency_table_for(space, configs)
    batch = space.cost_many(configs, lut=table)
    for i, config in enumerate(configs):
        expected = table.predict(space.graph, config)
        assert space.cost(config, lut=table).latency_ms == pytest.approx(expected, abs=1e-9)
        assert batch.latency_ms[i] == pytest.approx(expected, abs=1e-9)
    assert batch.latency_ms.min() > table.overhead_ms  # the units count, not only overhead


@settings(max_examples=15, deadline=None)
@given(seeds=st.lists(st.integers(0, 10**6), min_size=1, max_size=5))
def test_scoped_latency_is_the_scope_units_only(seeds) -> None:
    space = _space("vipnas_temporal")
    configs = [space.sample(s) for s in seeds]
    table = latency_table_for(space, configs)
    for config in configs:
        for scope in ("frame[1]", "frame[3]"):
            model = space.latency_model(table, scope)
            expected = table.predict(space.graph, config, scope)
            assert model(config) == pytest.approx(expected, abs=1e-9)
        assert space.latency_model(table)(config) == pytest.approx(
            table.predict(space.graph, config), abs=1e-9
        )


def test_a_unit_the_table_lacks_raises_the_walks_error_on_every_path() -> None:
    space = _space("mobile_small")
    config = space.sample(3)
    table = latency_table_for(space, [config])
    table.entries.pop(next(iter(table.entries)))
    with pytest.raises(LatencyTableError) as walk:
        table.predict(space.graph, config)
    fresh = archc.load(next(p for p in SPACES if p.stem == "mobile_small"))
    with pytest.raises(LatencyTableError) as one:
        fresh.cost(config, lut=table)
    with pytest.raises(LatencyTableError) as many:
        fresh.cost_many([fresh.sample(0), config], lut=table)
    assert str(one.value) == str(many.value) == str(walk.value)
    assert "rebuild it with `archc lut" in str(walk.value)


def test_a_table_file_is_read_once_while_it_is_unchanged(tmp_path, monkeypatch) -> None:
    space = _space("mobile_small")
    configs = [space.sample(s) for s in range(3)]
    path = latency_table_for(space, configs).save(tmp_path / "lut.json")
    reads = []
    load = LatencyTable.load.__func__
    monkeypatch.setattr(
        LatencyTable, "load", classmethod(lambda cls, p: reads.append(p) or load(cls, p))
    )
    monkeypatch.setattr(latency_table, "_LOADED", {})
    first = [space.cost(c, lut=path).latency_ms for c in configs]
    space.cost_many(configs, lut=str(path))
    assert len(reads) == 1
    changed = latency_table_for(space, configs)
    changed.overhead_ms = 5.0
    changed.save(path)
    os.utime(path, ns=(1, 1))  # a new stamp even on a coarse clock
    again = space.cost(configs[0], lut=path).latency_ms
    assert len(reads) == 2
    assert again == pytest.approx(first[0] - 0.25 + 5.0)


def test_a_missing_table_file_is_a_readable_error(tmp_path) -> None:
    space = _space("mobile_small")
    with pytest.raises(LatencyTableError, match="no such latency table"):
        space.cost(space.sample(0), lut=tmp_path / "nope.json")
