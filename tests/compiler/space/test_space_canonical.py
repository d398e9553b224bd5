"""Configs are not architectures: choices read only by switched-off blocks cannot
change the network. `Space.canonical` fixes them, `Space.architectures` counts the
distinct networks, and search keys configs by their canonical form."""

from __future__ import annotations

import json
from functools import cache

import pytest

import archc
from archc.runtime.search.strategies.base import config_key
from tests.compiler.space.space_helpers import space_text
from tests.example_spaces import SPACES


def _ofa_like(stages: int, depths: str, kernels: str, expands: str) -> str:
    """Once-for-All's structure: per stage an elastic depth, per block its own kernel
    and expansion (inline choices are fresh per iteration)."""
    body = ["    let x = image -> conv(16, k=3)"]
    for s in range(stages):
        body.append(f"    let d{s} = choice({depths})")
        body.append(
            f"    let x = x -> repeat(d{s}) as s{s} "
            f"{{ conv(16 * choice({expands}), k=1) -> conv(16, k=choice({kernels})) }}"
        )
    body.append("    output o = x")
    return space_text("\n".join(body), "ofa_like")


@cache
def _load(path):
    return archc.load(path)


def test_once_for_all_counts_networks_not_configs():
    space = archc.load("ofa.arch", _ofa_like(5, "2, 3, 4", "3, 5, 7", "3, 4, 6"))
    assert space.size() == 3**5 * 9 ** (4 * 5)
    assert space.architectures() == ((9**2 + 9**3 + 9**4) ** 5, True)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_ofa_like(1, "1, 2, 3", "3, 5", "1, 2"), id="ofa-like"),
        pytest.param((SPACES[0].parent / "hrnet_branches.arch").read_text(), id="hrnet_branches"),
    ],
)
def test_the_count_equals_the_distinct_canonical_configs_enumerated(text):
    space = archc.load("s.arch", text)
    keys = {json.dumps(dict(space.canonical(c)), sort_keys=True) for c in space.table.configs()}
    assert space.size() > len(keys)
    assert space.architectures() == (len(keys), True)


@pytest.mark.parametrize("path", SPACES, ids=[p.stem for p in SPACES])
def test_a_canonical_config_builds_the_same_network(path):
    space = _load(path)
    for seed in range(3):
        config = space.sample(seed)
        canonical = space.canonical(config)
        assert space.canonical(canonical) == canonical
        assert space.validate(canonical) == canonical
        assert space.cost(canonical) == space.cost(config)
        assert _network(space, canonical) == _network(space, config)


def _network(space, config) -> list[tuple]:
    graph = space.derive(config).graph
    nodes = (graph.nodes[n]["ir"] for n in sorted(graph.nodes))
    return [(n.kind, n.op, n.name, repr(n.attrs), n.shape) for n in nodes] + sorted(graph.edges)


def test_configs_differing_only_in_switched_off_choices_share_a_search_key():
    space = archc.load("s.arch", _ofa_like(1, "1, 2", "3, 5", "1, 2"))
    shallow = {**space.default(), "d0": 1, "s0[1].conv_1.k": 3}
    changed = {**shallow, "s0[1].conv_1.k": 5}  # the kernel of a block that is off
    assert space.canonical(changed) == space.canonical(shallow)
    assert config_key(space, changed) == config_key(space, shallow)
    deep, deeper = {**shallow, "d0": 2}, {**changed, "d0": 2}
    assert config_key(space, deep) != config_key(space, deeper)


def test_info_reports_configs_and_architectures(tmp_path, capsys):
    from archc.cli.main import main

    path = tmp_path / "ofa.arch"
    path.write_text(_ofa_like(1, "1, 2, 3", "3, 5", "1, 2"))
    assert main(["info", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["size"], report["architectures"], report["architectures_exact"]) == (
        "192",
        "84",
        True,
    )
    assert main(["info", str(path)]) == 0
    assert "192 valid configs, 84 distinct architectures\n" in capsys.readouterr().out
