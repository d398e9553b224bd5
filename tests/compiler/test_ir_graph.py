"""`IRGraph` stands in for networkx while lowering (so `archc check` never imports
networkx); the networkx graph made from it must be exactly the one lowering built
with networkx itself, orders of nodes, successors and predecessors included."""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import pytest

from archc.api import compile_file
from archc.compiler import lower as lower_module
from archc.compiler.ir_graph import IRGraph, ancestors, is_acyclic
from archc.compiler.passes.eliminate_dead_nodes import eliminate_dead_nodes
from archc.dsl.frontend import check_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.arch"))


class Twin(IRGraph):
    """An IRGraph that makes every change to a networkx graph as well."""

    def __init__(self) -> None:
        super().__init__()
        self.twin = nx.MultiDiGraph()

    def add_node(self, n, **attrs):
        super().add_node(n, **attrs)
        self.twin.add_node(n, **attrs)

    def add_edge(self, u, v, key, **attrs):
        super().add_edge(u, v, key, **attrs)
        self.twin.add_edge(u, v, key=key, **attrs)


def _layout(g: nx.MultiDiGraph) -> tuple:
    return (
        list(g.nodes(data=True)),
        list(g.edges(keys=True, data=True)),
        {v: list(g.pred[v]) for v in g},
        {u: list(g.succ[u]) for u in g},
        dict(g.graph),
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_to_networkx_is_the_graph_networkx_would_have_built(path, monkeypatch):
    monkeypatch.setattr(lower_module, "IRGraph", Twin)
    for space in check_file(path).spaces:
        lowering = lower_module.Lowering(space)
        graph = lowering.run()
        graph.twin.graph.update(graph.graph)
        assert _layout(graph.to_networkx()) == _layout(graph.twin)
        light, full = eliminate_dead_nodes(graph), eliminate_dead_nodes(graph.twin)
        assert list(light.nodes) == list(full.nodes)
        assert sorted(light._edges) == sorted(full.edges(keys=True))


def test_compiled_graphs_are_lowered_then_pruned_with_networkx():
    result = compile_file(ROOT / "examples/spaces/mobile_small.arch")
    (graph,) = result.graphs
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.number_of_nodes() == result.checked[0].number_of_nodes()
    assert _layout(graph) == _layout(eliminate_dead_nodes(result.lowered[0].to_networkx()))


def test_ancestors_and_cycles_agree_with_networkx():
    rng = random.Random(0)
    for _ in range(200):
        g = nx.MultiDiGraph()
        g.add_nodes_from(range(12))
        for _ in range(rng.randrange(25)):
            g.add_edge(rng.randrange(12), rng.randrange(12), key=rng.randrange(2))
        assert is_acyclic(g) == nx.is_directed_acyclic_graph(g)
        for n in range(12):
            assert ancestors(g, n) == nx.ancestors(g, n)


def test_a_graph_without_facts_is_refused_in_words():
    import networkx as nx

    from archc.compiler.ir import facts

    with pytest.raises(ValueError, match="not an archc IR graph"):
        facts(nx.MultiDiGraph())
