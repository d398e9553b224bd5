"""Dead-node elimination: keep only nodes some output depends on (and the inputs).

Lowering drops inactive nodes and redirects decided selects, which leaves
producers nobody reads (e.g. the projection shortcut of a residual block whose
channels turned out to match). This pass removes them; it never changes what
an output computes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archc.compiler.ir import facts
from archc.compiler.ir_graph import IRGraph, ancestors

if TYPE_CHECKING:
    import networkx as nx


def eliminate_dead_nodes(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of `graph` without nodes that no output reaches (inputs are kept); for a
    networkx graph or an `IRGraph` (`archc check` never imports networkx)."""
    live: set[int] = set(facts(graph).inputs.values())
    for out in facts(graph).outputs.values():
        if out in graph:
            live.add(out)
            live |= ancestors(graph, out)
    result = graph.subgraph([n for n in graph.nodes if n in live])
    if not isinstance(result, IRGraph):  # networkx gives a view
        result = result.copy()
    result.graph.update(graph.graph)
    return result
