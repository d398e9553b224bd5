"""Expected latency of a supernet with weighted choices, differentiable in alpha.

EfficientPose (Eq. 4) prices a mixed layer as the softmax-weighted sum of its
candidates' latencies, so a cost term in the loss (Eq. 6) pushes alpha towards
fast candidates. In the IR a candidate's ops carry guards such as
`cell.op == "sep_conv_3x3"`; the probability that an op runs is the softmax mass
of the assignments of the weighted choices that make its guard true, and the
expected latency is the sum of unit latencies (from a latency table) times
those probabilities. Choices that are not weighted take the active config.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch

from archc.compiler.latency_table import LatencyTable, graph_units, unit_spec
from archc.compiler.passes.count_cost import active_nodes
from archc.dsl.symbolic import deps_of, evaluate

Term = tuple[float, tuple[tuple[str, int], ...]]  # latency, ((choice, candidate index), ...)


def latency_terms(supernet, table: LatencyTable, config: Mapping[str, Any]) -> list[Term]:
    """(ms, assignment) for every unit and every assignment of the weighted choices it
    depends on under which it runs; the unit's probability is the assignment's."""
    graph, labels = supernet.graph, supernet.labels
    terms: list[Term] = [(table.overhead_ms, ())]
    reachable = set(active_nodes(graph, config, set(labels)))
    for unit in graph_units(graph):
        if unit.nodes[0] not in reachable:
            continue
        nodes = [graph.nodes[n]["ir"] for n in unit.nodes]
        mixing = sorted(set().union(*(deps_of(n.guard) for n in nodes)) & set(labels))
        for combo in itertools.product(*(range(len(labels[c])) for c in mixing)):
            assignment = dict(config) | {
                c: labels[c][i] for c, i in zip(mixing, combo, strict=True)
            }
            if all(evaluate(n.guard, assignment) for n in nodes):
                ms = table.lookup(unit_spec(graph, unit, assignment), graph)
                terms.append((ms, tuple(zip(mixing, combo, strict=True))))
    return terms


def expected_latency(
    supernet, table: LatencyTable, config: Mapping[str, Any] | None = None
) -> torch.Tensor:
    """E[latency] in ms under softmax(alpha) of the weighted choices; differentiable.
    Terms are cached per (table, config) on the supernet: building them walks the IR."""
    config = supernet.table.validate(
        config if config is not None else supernet.active or supernet.table.default()
    )
    cache = supernet.__dict__.setdefault("_latency_terms", {})
    key = (id(table), config)
    if key not in cache or cache[key][0] is not table:  # an id can be reused after gc
        cache[key] = (table, latency_terms(supernet, table, config))
    probs = {c: torch.softmax(supernet.arch[c.replace(".", "/")], 0) for c in supernet.labels}
    total = torch.zeros((), dtype=next(iter(probs.values())).dtype if probs else torch.float32)
    for ms, assignment in cache[key][1]:
        weight = torch.ones(())
        for choice, index in assignment:
            weight = weight * probs[choice][index]
        total = total + ms * weight
    return total
