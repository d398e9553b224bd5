"""Three independent cost paths agree exactly: the factorised model, the graph walk on
the space, and the graph walk on the derived subnet; derived subnets have no choices."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archc.api import compile_file
from archc.compiler.cost.count import count_cost
from archc.compiler.cost.model import CostModel
from archc.compiler.ir import facts, nodes_in_order
from archc.compiler.passes.derive_subnet import derive_subnet
from archc.compiler.passes.verify import verify
from archc.compiler.space import ChoiceTable
from archc.kernel.symbolic import is_symbolic

EXAMPLES = sorted(Path(__file__).resolve().parents[3].glob("examples/**/*.arch"))
# autopose (5,000+ nodes) takes 10-15 s here: in the slow run only
EXAMPLE_PARAMS = [
    pytest.param(p, id=p.name, marks=pytest.mark.slow)
    if p.stem == "autopose"
    else pytest.param(p, id=p.name)
    for p in EXAMPLES
]


@cache
def space(path: Path):
    [graph] = compile_file(path).graphs
    return graph, CostModel(graph), CostModel(graph, "hrnet"), ChoiceTable(facts(graph).choices)


@pytest.mark.parametrize("path", EXAMPLE_PARAMS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_model_walk_and_derived_subnet_agree(path, seed):
    graph, model, hrnet, table = space(path)
    config = table.sample(seed)
    derived = derive_subnet(graph, config)
    verify(derived)
    assert model(config) == count_cost(graph, config) == count_cost(derived, {})
    assert hrnet(config) == count_cost(graph, config, "hrnet")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_derived_subnet_has_no_choices_left(path):
    graph, _, _, table = space(path)
    derived = derive_subnet(graph, table.per_choice_end("largest"))
    nodes = nodes_in_order(derived)
    assert {n.kind for n in nodes} <= {"input", "op"}
    assert not facts(derived).choices
    assert not any(is_symbolic(n.shape) or is_symbolic(tuple(n.attrs.values())) for n in nodes)


MONOTONE = """import std
space m {
    input image: [3, 64, 48]
    let w = choice(8, 16, 24)
    let d = choice(1..3)
    let k = choice(3, 5)
    let x = image -> conv(w, k=3, stride=2) -> bn -> relu
    output h = x -> repeat(d) as b { i => conv(w, k=k) -> bn -> relu } -> deconv_head([16])
}
"""


def test_monotone_space_costs_are_ordered():
    """Every choice here only grows the network (groups, by contrast, shrink it)."""
    [graph] = compile_file("m.arch", MONOTONE).graphs
    model, table = CostModel(graph), ChoiceTable(facts(graph).choices)
    low, high = model(table.per_choice_end("smallest")), model(table.per_choice_end("largest"))
    assert low.params < high.params and low.macs < high.macs
    for seed in range(30):
        cost = model(table.sample(seed))
        assert low.params <= cost.params <= high.params
        assert low.macs <= cost.macs <= high.macs


DEPENDENT = """import std
space dep {
    input image: [3, 32, 32]
    let e = choice(1, 2, 3)
    let g = choice([d for d in divisors(8 * e) if d >= 2])
    let d = choice(1..2)
    let x = image -> conv(8 * e, k=3) -> conv(8 * e, k=3, groups=g)
    output h = x -> repeat(d) as b { i => conv(8 * e, groups=g) }
}
"""


@pytest.mark.parametrize("source", ["hrnet_branches.arch", "mobile_small.arch", DEPENDENT])
def test_variable_elimination_equals_enumeration(source):
    from archc.compiler.cost.extremes import cost_extremes

    if source.endswith(".arch"):
        [graph] = compile_file(
            Path(__file__).resolve().parents[3] / "examples/spaces" / source
        ).graphs
    else:
        [graph] = compile_file("dep.arch", source).graphs
    model = CostModel(graph)
    choices = {c.name: c for c in facts(graph).choices}
    (params_min, params_max), (macs_min, macs_max) = (
        cost_extremes(model, choices, metric) for metric in ("params", "macs")
    )
    table = ChoiceTable(facts(graph).choices)
    if table.size() > 50_000:  # mobile_small: check per-stage exactness through the bound
        configs = [table.sample(s) for s in range(300)]
    else:
        configs = list(table.configs())
    costs = [model(c) for c in configs]
    assert params_min <= min(c.params for c in costs)
    assert macs_max >= max(c.macs for c in costs)
    if table.size() <= 50_000:
        assert (params_min, params_max, macs_min, macs_max) == (
            min(c.params for c in costs),
            max(c.params for c in costs),
            min(c.macs for c in costs),
            max(c.macs for c in costs),
        )


def test_scoped_constraints_count_only_their_scope():
    from archc.api import load

    text = """space f {
    input image: [3, 32, 32]
    scope a { let x = image -> conv(choice(8, 16) as w, k=3) }
    scope b { let y = x -> conv(8) }
    output h = y
    constraint params in a <= 300
    constraint params <= 400
}
"""
    space = load("f.arch", text)
    small, large = {"a.w": 8}, {"a.w": 16}
    assert space.cost_model(scope="a")(small).params == 8 * 27
    assert space.cost_model(scope="b")(large).params == 8 * 16
    assert space.violations(small) == []
    assert space.violations(large) == [
        "params in a = 432 breaks `params in a <= 300`",
        "params = 560 breaks `params <= 400`",
    ]
