"""Every example under examples/ elaborates cleanly and `archc check` accepts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archc.dsl.frontend import check_file
from archc.kernel.diagnostics import render

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.arch"))


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT / "examples"))


def test_there_are_examples():
    names = {_id(p) for p in EXAMPLES}
    assert {
        "nets/tiny.arch",
        "spaces/mobile_small.arch",
        "spaces/darts_cell_demo.arch",
        "spaces/hrnet_branches.arch",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=_id)
def test_example_elaborates_without_diagnostics(path: Path):
    result = check_file(path)
    assert not result.diagnostics, render(result.diagnostics, result.sources)
    assert result.spaces, "an example defines at least one space or net"
    for space in result.spaces:
        assert space.outputs, f"`{space.name}` has no output"
        assert space.doc, f"`{space.name}` has no doc string"
        if space.is_net:
            assert not space.choices
        else:
            assert space.choices, f"space `{space.name}` has nothing to search"


@pytest.mark.parametrize("path", EXAMPLES, ids=_id)
def test_archc_check_accepts_example(path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "archc", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok  ")


def _space(name: str):
    (space,) = check_file(ROOT / "examples" / name).spaces
    return space


def test_mobile_small_shares_stage_decisions_and_has_a_dependent_group_domain():
    s = _space("spaces/mobile_small.arch")
    assert {c.name.split(".")[1] for c in s.choices} == {"w", "depth", "k", "e", "g", "att"}
    assert s.choice("s2.g").dependent and not s.choice("s2.e").dependent
    ks = {
        str(n.attrs["k"])
        for n in s.nodes
        if n.name.startswith("s2.") and n.name.endswith("dw_conv")
    }
    assert ks == {"s2.k"}  # one decision for every block of the stage
    assert [c.metric for c in s.constraints] == ["macs"]


def test_darts_cell_demo_shares_alpha_across_cells():
    s = _space("spaces/darts_cell_demo.arch")
    uses = [n for n in s.nodes if n.kind == "choose" and n.attrs["choice"] == "alpha[0,0]"]
    assert len(uses) == 3 and {n.attrs["realise"] for n in uses} == {"gumbel"}
    ops = [n for n in s.nodes if n.kind == "choose" and n.attrs["choice"] == "ops[0,0]"]
    assert len(ops) == 3 and {n.attrs["realise"] for n in ops} == {"weighted"}
    assert s.choice("fuse.mixed_input.beta").realise == "weighted"


def test_hrnet_branches_gates_each_branch_with_a_policy():
    s = _space("spaces/hrnet_branches.arch")
    assert [s.choice(f"branch[{b}]").realise for b in range(3)] == ["policy"] * 3
    gates = [
        n for n in s.nodes if n.kind == "select" and str(n.attrs["cond"]).startswith("branch[")
    ]
    assert len(gates) == 3
