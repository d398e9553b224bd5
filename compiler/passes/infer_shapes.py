"""Shape inference per config: the concrete [C, H, W] of every node for one config.

Lowering already infers every node's shape symbolically (a function of the
choices, `IRNode.shape`) and its maximum over all configs (`IRNode.max_shape`);
this pass evaluates the symbolic shapes for one config, which is what a backend
compares with the tensors it actually produces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from archc.compiler.passes.count_cost import active_nodes
from archc.kernel.symbolic import evaluate


def infer_shapes(
    graph: nx.MultiDiGraph, config: Mapping[str, Any], only_active: bool = True
) -> dict[int, tuple[int, int, int]]:
    """Node id -> shape under `config` (by default only the nodes its subnet computes)."""
    nodes = active_nodes(graph, config) if only_active else sorted(graph.nodes)
    return {n: tuple(evaluate(graph.nodes[n]["ir"].shape, config)) for n in nodes}


def max_shapes(graph: nx.MultiDiGraph) -> dict[int, tuple]:
    """Node id -> the largest shape over all configs (see `IRNode.max_shape`)."""
    return {n: graph.nodes[n]["ir"].max_shape for n in graph.nodes}
