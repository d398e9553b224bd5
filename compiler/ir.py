"""The IR: a networkx `MultiDiGraph` of primitive ops, selects and chooses.

Every node carries one frozen `IRNode` under the key `"ir"`; every edge
`(src, dst, key=port)` says which output feeds which input port. What holds for
the whole graph is one frozen `SpaceFacts` record under `graph.graph["facts"]`,
read with `facts(graph)`: `name`, `is_net`, `choices` (`ChoiceSpec`s in order),
`inputs`/`outputs` (name -> node), `constraints` and `checks` (conditions on
choices that could not be decided at compile time), and for a derived subnet
`derived_from` and `weight_sources`.

Node kinds (as in `archc.dsl.program`): `input`; `op` (a registry op, attrs
concrete or `Sym`s over choices); `select` (`inputs[0]` if `cond` else
`inputs[1]`); `choose` (the input whose label the choice `choice` takes).
`guard` is the condition under which the node exists in a derived subnet;
`shape` is the output shape as a function of the choices, `max_shape` its
largest value over all configs (an upper bound where noted by `max_exact`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archc.kernel.span import Span
from archc.kernel.symbolic import evaluate

if TYPE_CHECKING:
    import networkx as nx  # importing it costs ~130 ms; `archc check` never needs it

    from archc.kernel.specs import ChoiceSpec, ConstraintSpec


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


@dataclass(frozen=True)
class SpaceFacts:
    """What an IR graph says of itself as a whole: one typed record, so that a reader
    finds every field (and its type) here instead of guessing string keys.

    `derived_from` (the config) and `weight_sources` (a diverging sharer's weight name ->
    the supernet weight it is sliced from) are set on derived subnets only."""

    name: str
    is_net: bool = False
    doc: str | None = None
    choices: tuple[ChoiceSpec, ...] = ()
    inputs: Mapping[str, int] = field(default_factory=dict)
    outputs: Mapping[str, int] = field(default_factory=dict)
    constraints: tuple[ConstraintSpec, ...] = ()
    checks: tuple = ()  # (condition, message, span) of per-config requirements
    derived_from: Mapping[str, Any] | None = None
    weight_sources: Mapping[str, str] | None = None


def facts(graph: nx.MultiDiGraph) -> SpaceFacts:
    """The graph's `SpaceFacts` (every graph the compiler makes has them)."""
    try:
        return graph.graph["facts"]
    except KeyError:
        raise ValueError(
            "not an archc IR graph (it has no SpaceFacts): make one with archc.load, "
            "archc.load_ir or Space.derive"
        ) from None


def ir_node(graph: nx.MultiDiGraph, n: int) -> IRNode:
    return graph.nodes[n]["ir"]


def input_ids(graph: nx.MultiDiGraph, n: int) -> list[int]:
    """Producers of node `n`, in port order."""
    edges = sorted(graph.in_edges(n, keys=True), key=lambda e: e[2])
    return [src for src, _, _ in edges]


def input_shapes(graph: nx.MultiDiGraph, batch: int = 1) -> dict[str, tuple]:
    """`input name -> (batch, C, H, W)` of a graph's inputs (static shapes: a derived
    subnet, or a net)."""
    return {name: (batch, *graph.nodes[n]["ir"].shape) for name, n in facts(graph).inputs.items()}


def nodes_in_order(graph: nx.MultiDiGraph) -> list[IRNode]:
    """All nodes in a topological order (ids grow along edges by construction)."""
    return [graph.nodes[n]["ir"] for n in sorted(graph.nodes)]


def taken_inputs(
    node: IRNode,
    producers: Sequence[int],
    config: Mapping[str, Any],
    mixing: frozenset[str] | set[str] = frozenset(),
) -> Sequence[int]:
    """The producers of `node` that `config`'s subnet computes through it: the one a
    `select`'s condition picks, the candidate a `choose`'s choice names (all of them
    when the choice is in `mixing`, a weighted/gumbel choice of a supernet), every
    producer of any other node. The one statement of the rule; the cost walk, the
    derivation and the supernet's plans all follow it."""
    if node.kind == "select":
        return [producers[0] if evaluate(node.attrs["cond"], config) else producers[1]]
    if node.kind == "choose" and node.attrs["choice"] not in mixing:
        return [producers[list(node.attrs["labels"]).index(config[node.attrs["choice"]])]]
    return producers


def active_nodes(
    graph: nx.MultiDiGraph,
    config: Mapping[str, Any],
    mixing: frozenset[str] | set[str] = frozenset(),
    inputs: Mapping[int, Sequence[int]] | None = None,
) -> list[int]:
    """Ids of the nodes the subnet of `config` computes, in topological order: a walk
    back from the outputs along `taken_inputs`. `inputs` (node -> its producers in
    port order) spares a caller that asks for many configs of one graph the walk over
    networkx's edge views."""
    seen: set[int] = set()
    stack = list(facts(graph).outputs.values())
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        producers = inputs[n] if inputs is not None else input_ids(graph, n)
        stack.extend(taken_inputs(graph.nodes[n]["ir"], producers, config, mixing))
    return sorted(seen)


def shapes_under(
    graph: nx.MultiDiGraph, config: Mapping[str, Any], only_active: bool = True
) -> dict[int, tuple[int, int, int]]:
    """Node id -> shape under `config` (by default only the nodes its subnet computes):
    the symbolic shapes lowering inferred, evaluated for one config, which is what a
    backend compares with the tensors it produces."""
    nodes = active_nodes(graph, config) if only_active else sorted(graph.nodes)
    return {n: tuple(evaluate(graph.nodes[n]["ir"].shape, config)) for n in nodes}


def max_shapes(graph: nx.MultiDiGraph) -> dict[int, tuple]:
    """Node id -> the largest shape over all configs (see `IRNode.max_shape`)."""
    return {n: graph.nodes[n]["ir"].max_shape for n in graph.nodes}
