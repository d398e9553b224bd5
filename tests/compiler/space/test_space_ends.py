"""`Space.largest()`/`smallest()` are the configs with the most / fewest MACs (ties:
params), the ends of the range `archc info` prints, not "each choice at its end":
op choices, strides and group counts make that rule miss by up to 10x."""

from __future__ import annotations

import json
from functools import cache

import pytest

import archc
from archc.compiler.ir import facts
from archc.compiler.space.ends import find_end
from tests.compiler.space.space_helpers import space_text
from tests.example_spaces import ROOT, SPACES

# the last candidate is not the costliest, a larger stride is cheaper, and `g`
# depends on `w`: the per-choice rule gets all three wrong
BLOCKS = """block wide(x: tensor) -> tensor {
    return x -> conv(x.channels, k=5)
}
block narrow(x: tensor) -> tensor {
    return x -> conv(x.channels, k=3)
}
block thin(x: tensor) -> tensor {
    return x -> conv(x.channels, k=1)
}
"""
CELL = """    let w = choice(16, 32)
    let g = choice(divisors(w), default=1)
    let s = choice(1, 2)
    let x = image -> conv(32, k=3) -> conv(w, k=3, stride=s, groups=g) -> bn -> relu
    output h = x -> oneof(wide, narrow, thin) as op"""


def _cell_text() -> str:
    return BLOCKS + space_text(CELL)


@cache
def _load(path):
    return archc.load(path)


def _macs_params(space, config) -> tuple[int, int]:
    cost = space.cost(config)
    return cost.macs, cost.params


@pytest.mark.parametrize("path", SPACES, ids=[p.stem for p in SPACES])
def test_ends_are_the_ends_of_the_printed_range(path):
    space = _load(path)
    macs = space.cost_range().macs
    for which, bound, rule in (("smallest", macs[0], min), ("largest", macs[1], max)):
        end = space.end(which)
        got = space.cost(end.config).macs
        per_choice = space.cost(space.table.per_choice_end(which)).macs
        assert rule(got, per_choice) == got  # never worse than the per-choice rule
        if end.exact and space.cost_range().macs_exact:
            assert got == bound, which
        else:  # found by the coordinate search: inside the (loose) range
            assert macs[0] <= got <= macs[1]


def test_elimination_agrees_with_enumeration_and_breaks_ties_by_params():
    space = archc.load("cell.arch", _cell_text())
    every = [_macs_params(space, c) for c in space.table.configs()]
    for which, rule in (("largest", max), ("smallest", min)):
        enumerated = find_end(space, which, enumerate_below=10**9)
        eliminated = find_end(space, which, enumerate_below=0)
        assert enumerated.exact and eliminated.exact
        assert _macs_params(space, enumerated.config) == rule(every)
        assert _macs_params(space, eliminated.config) == rule(every)
    largest = space.largest()
    assert (largest["op"], largest["s"], largest["g"]) == ("wide", 1, 1)
    assert space.table.per_choice_end("largest")["op"] == "thin"


def test_the_supernet_and_the_cli_take_the_same_ends(tmp_path, capsys):
    pytest.importorskip("torch")
    from archc.cli.main import main
    from archc.torch import build_supernet

    path = tmp_path / "cell.arch"
    path.write_text(_cell_text())
    space = archc.load(path)
    net = build_supernet(space)
    assert net.largest() == space.largest() and net.active == space.largest()
    assert net.smallest() == space.smallest()
    assert build_supernet(space.graph).largest() == space.largest()
    for flag, end in (("--largest", 1), ("--smallest", 0)):
        assert main(["info", str(path), flag, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["macs"] == shown["macs_range"][end] == space.cost_range().macs[end]


def test_a_subnet_keeps_an_input_it_never_reads():
    """Without fusion no frame of tiny_temporal reads the key heatmaps; the derived net
    still takes them (inputs are the interface: `archc video` feeds every one)."""
    from archc.cli.common import load_space

    space = load_space(str(ROOT / "examples/spaces/tiny_temporal.arch"), ["FUSION=false"])
    derived = space.derive(space.smallest())
    inputs = facts(derived.graph).inputs
    assert set(inputs) == {"image[1]", "image[2]", "image[3]", "key_heatmaps"}
    assert all(n in derived.graph for n in inputs.values())
