"""The IR: a networkx `MultiDiGraph` of primitive ops, selects and chooses.

Every node carries one frozen `IRNode` under the key `"ir"`; every edge
`(src, dst, key=port)` says which output feeds which input port. The graph's
own attributes (`graph.graph`) hold the space: `name`, `is_net`, `choices`
(`ChoiceSpec`s in order), `inputs`/`outputs` (name -> node), `constraints`
and `checks` (conditions on choices that could not be decided at compile time).

Node kinds (as in `archc.dsl.program`): `input`; `op` (a registry op, attrs
concrete or `Sym`s over choices); `select` (`inputs[0]` if `cond` else
`inputs[1]`); `choose` (the input whose label the choice `choice` takes).
`guard` is the condition under which the node exists in a derived subnet;
`shape` is the output shape as a function of the choices, `max_shape` its
largest value over all configs (an upper bound where noted by `max_exact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archc.kernel.span import Span

if TYPE_CHECKING:
    import networkx as nx  # importing it costs ~130 ms; `archc check` never needs it


@dataclass(frozen=True)
class IRNode:
    id: int
    kind: str
    op: str | None
    name: str
    weight_name: str
    attrs: Mapping[str, Any]
    guard: Any
    shape: tuple
    max_shape: tuple[int, int, int]
    span: Span
    trace: tuple[Span, ...] = ()


def ir_node(graph: nx.MultiDiGraph, n: int) -> IRNode:
    return graph.nodes[n]["ir"]


def input_ids(graph: nx.MultiDiGraph, n: int) -> list[int]:
    """Producers of node `n`, in port order."""
    edges = sorted(graph.in_edges(n, keys=True), key=lambda e: e[2])
    return [src for src, _, _ in edges]


def input_shapes(graph: nx.MultiDiGraph, batch: int = 1) -> dict[str, tuple]:
    """`input name -> (batch, C, H, W)` of a graph's inputs (static shapes: a derived
    subnet, or a net)."""
    return {name: (batch, *graph.nodes[n]["ir"].shape) for name, n in graph.graph["inputs"].items()}


def nodes_in_order(graph: nx.MultiDiGraph) -> list[IRNode]:
    """All nodes in a topological order (ids grow along edges by construction)."""
    return [graph.nodes[n]["ir"] for n in sorted(graph.nodes)]
