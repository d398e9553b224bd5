"""Derivation: a config -> the IR of its subnet, with no choices left.

Only the nodes the config's subnet computes are kept (`count_cost.active_nodes`);
each `select` and `choose` is replaced by the input it takes; attributes and
shapes are evaluated to numbers; every guard becomes True. A node sharing
weights whose module would differ from its owner's gets weights of its own
(`weight_sharing`); `facts(graph).weight_sources` says, for each one with
params, which supernet weights they are sliced from. The result is a
graph of a fixed network that the same passes (shapes, cost, pictures, JSON)
accept, and that the torch backend builds as a plain module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import networkx as nx

from archc.compiler.cost.count import node_cost
from archc.compiler.cost.weight_sharing import diverging
from archc.compiler.ir import IRNode, active_nodes, facts, input_ids, taken_inputs
from archc.kernel.symbolic import evaluate


def derive_subnet(graph: nx.MultiDiGraph, config: Mapping[str, Any]) -> nx.MultiDiGraph:
    """The fixed network `config` selects (the config must be valid for the space). Its
    inputs are those of the space even where the subnet reads one of them nowhere (a
    temporal net without fusion ignores the key heatmaps): inputs are the interface."""
    keep = sorted(set(active_nodes(graph, config)) | set(facts(graph).inputs.values()))
    own = diverging(graph, config, keep)
    forward: dict[int, int] = {}
    out = nx.MultiDiGraph()
    for n in keep:
        node: IRNode = graph.nodes[n]["ir"]
        inputs = [forward.get(i, i) for i in input_ids(graph, n)]
        if node.kind in ("select", "choose"):
            (forward[n],) = taken_inputs(node, inputs, config)
            continue
        shape = tuple(evaluate(node.shape, config))
        attrs = {k: evaluate(v, config) for k, v in node.attrs.items()}
        fixed = IRNode(
            id=n,
            kind=node.kind,
            op=node.op,
            name=node.name,
            weight_name=node.name if n in own else node.weight_name,
            attrs=attrs,
            guard=True,
            shape=shape,
            max_shape=shape,
            span=node.span,
            trace=node.trace,
        )
        out.add_node(n, ir=fixed)
        for port, src in enumerate(inputs):
            out.add_edge(src, n, key=port, port=port)
    sources = {
        graph.nodes[n]["ir"].name: graph.nodes[n]["ir"].weight_name
        for n in sorted(own)
        if n in out and node_cost(out, n, {}, own_weights=True).params
    }
    out.graph["facts"] = replace(
        facts(graph),
        choices=(),
        checks=(),
        derived_from=dict(config),
        weight_sources=sources | (facts(graph).weight_sources or {}),
        outputs={k: forward.get(v, v) for k, v in facts(graph).outputs.items()},
    )
    return out
