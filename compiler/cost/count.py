"""Cost of one config: parameters and MACs of the subnet the config selects.

The subnet is found by walking back from the outputs, taking at each `select`
the input its condition picks and at each `choose` the candidate the config
names, so an unchosen candidate or a bypassed block costs nothing. Each op's
count comes from its registry rule evaluated on the config's shapes. This is
the reference implementation: exact and simple; a faster evaluator for search
must agree with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from archc.compiler.cost.weight_sharing import diverging
from archc.compiler.ir import IRNode, active_nodes, input_ids
from archc.compiler.ops import Rules, get
from archc.kernel.symbolic import evaluate


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int
    latency_ms: float | None = None  # predicted from a latency table, when one is given


def count_cost(graph: nx.MultiDiGraph, config: Mapping[str, Any], convention: str = "true") -> Cost:
    """Params and MACs of `config`'s subnet (`convention="hrnet"`: the papers' counter)."""
    params = macs = 0
    active = active_nodes(graph, config)
    own = diverging(graph, config, active)
    for n in active:
        cost = node_cost(graph, n, config, convention, own_weights=n in own)
        params += cost.params
        macs += cost.macs
    return Cost(params=params, macs=macs)


def node_cost(
    graph: nx.MultiDiGraph,
    n: int,
    config: Mapping[str, Any],
    convention: str = "true",
    own_weights: bool = False,
) -> Cost:
    """Params and MACs of one node under `config` (zero for inputs, selects, chooses).
    A node that shares another's weights has no params of its own unless
    `own_weights` (a diverging sharer, see `weight_sharing`)."""
    node: IRNode = graph.nodes[n]["ir"]
    if node.kind != "op":
        return Cost(0, 0)
    rule = get(node.op)
    attrs = {k: evaluate(v, config) for k, v in node.attrs.items()}
    shapes = [evaluate(graph.nodes[i]["ir"].shape, config) for i in input_ids(graph, n)]
    rules = Rules(attrs, shapes)
    out = evaluate(node.shape, config)
    params = int(rule.params(rules, out)) if own_weights or owns_weights(node) else 0
    return Cost(params=params, macs=int(rule.macs_for(convention)(rules, out)))


def owns_weights(node: IRNode) -> bool:
    """False for an op that uses another op's weights (`scope b shares weights with a`):
    shared weights are counted once, at their owner."""
    return node.weight_name == node.name
