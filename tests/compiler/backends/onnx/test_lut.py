"""Latency tables: cover every unit of a space, predict deterministically, are reused
on the same machine and remeasured on another, check `latency(cpu)` budgets, and give
a differentiable expected latency for weighted choices."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

import archc
from archc.cli import main as cli
from archc.compiler.backends.onnx import lut
from archc.compiler.backends.onnx.runner import Timing
from archc.compiler.cost.latency_table import (
    LatencyTable,
    LatencyTableError,
    graph_units,
    spec_key,
    unit_spec,
)
from archc.compiler.ir import active_nodes

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
ROOT = Path(__file__).resolve().parents[4]
SPACES = sorted((ROOT / "examples/spaces").glob("*.arch"))

BUDGET = """import std
space b {
    input image: [3, 64, 48]
    let w = choice(8, 32)
    let k = choice(1, 3)
    output h = image -> conv(w, k=k) -> bn -> relu -> conv(w, k=3) -> bn -> hswish
    constraint latency(cpu) <= %s
}
"""


@pytest.fixture
def fake_timer(monkeypatch):
    """Deterministic 'latencies' (a function of the model bytes): fast, no noise."""

    def timing(data, shapes, threads=1, runs=20, warmup=5, seed=0):
        ms = 0.01 + int(hashlib.sha256(data).hexdigest()[:4], 16) / 65536
        return Timing(ms, ms, runs)

    monkeypatch.setattr(lut, "ort_latency", timing)


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.stem)
def test_the_table_covers_every_unit_of_every_config(path, fake_timer):
    space = archc.load(path)
    table = lut.build_lut(space).table
    for seed in range(20):
        config = space.sample(seed)
        active = set(active_nodes(space.graph, config))
        for unit in graph_units(space.graph):
            if unit.nodes[0] in active:
                assert spec_key(unit_spec(space.graph, unit, config)) in table.entries
        assert table.predict(space.graph, config) == table.predict(space.graph, config) > 0


def test_units_fuse_conv_bn_and_simple_activations_only():
    space = archc.load("b.arch", BUDGET % "10ms")
    ops = [[space.graph.nodes[n]["ir"].op for n in u.nodes] for u in graph_units(space.graph)]
    assert ops == [["conv", "bn", "relu"], ["conv", "bn"], ["hswish"]]


def test_tables_round_trip_and_are_reused_on_the_same_machine(tmp_path, fake_timer, monkeypatch):
    space = archc.load(next(p for p in SPACES if p.stem == "hrnet_branches"))
    first = lut.build_lut(space)
    first.table.save(tmp_path / "t.json")
    table = LatencyTable.load(tmp_path / "t.json")
    assert table.entries == first.table.entries and lut.is_current(table, space, 1)
    config = space.sample(3)
    assert table.predict(space.graph, config) == first.table.predict(space.graph, config)
    again = lut.build_lut(space, existing=table)
    assert (again.measured, again.reused) == (0, len(first.table.entries))
    assert not lut.is_current(table, space, threads=2)
    other = {**lut.machine_description(), "cpu": "another CPU"}
    monkeypatch.setattr(lut, "machine_description", lambda: other)
    assert not lut.is_current(table, space, 1)
    assert lut.build_lut(space, existing=table).measured == len(first.table.entries)


def test_a_real_table_ranks_configs_like_onnxruntime():
    """Measured for real on a small space: predictions follow measured latencies."""
    space = archc.load(next(p for p in SPACES if p.stem == "hrnet_branches"))
    table = lut.build_lut(space, runs=10).table
    result = lut.calibrate(space, table, configs=4, runs=10)
    assert len(result.measured_ms) == 4 and all(m > 0 for m in result.measured_ms)
    assert result.spearman > 0 and result.mape < 100


def test_latency_budgets_are_checked_through_the_table(fake_timer):
    loose = archc.load("b.arch", BUDGET % "1000ms")
    table = lut.build_lut(loose).table
    config = loose.largest()
    predicted = loose.cost(config, lut=table).latency_ms
    assert predicted == pytest.approx(table.predict(loose.graph, config))
    assert loose.violations(config, lut=table) == []
    assert loose.violations(config) == []  # no table: nothing to check against
    tight = archc.load("b.arch", BUDGET % "0.001ms")
    [message] = tight.violations(config, lut=table)
    assert message.startswith("latency(cpu) = ") and "breaks `latency(cpu) <= 0.001ms`" in message


def test_spearman_and_bad_tables(tmp_path):
    assert lut.spearman([1, 2, 3], [10, 20, 30]) == 1.0
    assert lut.spearman([1, 2, 3], [3, 2, 1]) == -1.0
    assert lut.spearman([1, 1, 2], [5, 5, 9]) == pytest.approx(1.0)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(LatencyTableError, match="not a readable latency table"):
        LatencyTable.load(tmp_path / "bad.json")
    with pytest.raises(LatencyTableError, match="no such latency table"):
        LatencyTable.load(tmp_path / "none.json")
    empty = LatencyTable({}, 1)
    space = archc.load("b.arch", BUDGET % "10ms")
    with pytest.raises(LatencyTableError, match="no entry for conv"):
        empty.predict(space.graph, space.largest())


def test_expected_latency_is_differentiable_and_tends_to_the_argmax_subnet(fake_timer):
    torch = pytest.importorskip("torch")
    from archc.torch import build_supernet, expected_latency

    space = archc.load(next(p for p in SPACES if p.stem == "darts_cell_demo"))
    table = lut.build_lut(space).table
    net = build_supernet(space)
    net.set_active(space.default())
    expected = expected_latency(net, table)
    expected.backward()
    op_choices = [k for k in net.arch if k.startswith(("alpha", "ops"))]
    assert op_choices and all(net.arch[k].grad.abs().sum() > 0 for k in op_choices)
    with torch.no_grad():
        for alpha in net.arch.values():
            alpha.zero_()
            alpha[-1] = 60.0
    config = net.argmax_config()
    assert expected_latency(net, table).item() == pytest.approx(
        table.predict(space.graph, config), rel=1e-5
    )


def test_cli_lut_latency_and_their_errors(tmp_path, capsys):
    path = str(next(p for p in SPACES if p.stem == "hrnet_branches"))
    out = tmp_path / "t.json"
    assert cli.main(["lut", path, "-o", str(out), "--runs", "3", "--calibrate", "2"]) == 0
    printed = capsys.readouterr().out
    assert "entries measured" in printed and "Spearman" in printed
    assert cli.main(["lut", path, "-o", str(out), "--runs", "3"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert cli.main(["latency", path, "--smallest", "--runs", "3", "--torch", "--json"]) == 0
    assert '"onnxruntime"' in capsys.readouterr().out
    (tmp_path / "junk.json").write_text("[]")
    assert cli.main(["lut", path, "-o", str(tmp_path / "junk.json")]) == 1
    assert "not an archc latency table" in capsys.readouterr().err
    assert cli.main(["lut", path, "-o", str(tmp_path / "no" / "t.json")]) == 1
    assert "cannot write" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):  # a bad command line
        cli.main(["latency", path, "--runs", "0"])
