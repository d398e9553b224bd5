"""Expected cost of a supernet with mixed choices, differentiable in alpha.

EfficientPose (Eq. 4) prices a mixed layer as the probability-weighted sum of its
candidates' costs, so a cost term in the loss (Eq. 6) pushes alpha towards cheap
candidates. In the IR a candidate's ops carry guards such as
`cell.op == "sep_conv_3x3"`; the probability that an op runs is the mass of the
assignments of the mixed choices that make its guard true, each choice picking
candidate i independently with probability `Supernet.mixing_probabilities()`
(softmax of alpha; sigmoid for Fair-DARTS). By linearity the expected cost of
the subnet is the sum over ops (MACs, params: `count_cost.node_cost`) or over
latency units (a latency table) of cost x probability. Choices that are not
mixed take the given config.

This is the per-layer expectation of EfficientPose and FBNet: an op counts with
the probability that its guard holds. Where a mixed choice can orphan an op
(every edge that consumes it chose `zero`, or a mixed input of a fused node
took another branch) the derived subnet drops that op and `Space.cost` does
not count it, while this expectation still does: it is then an upper bound of
the expected exact cost (equal to it when no choice can orphan an op; tested
against brute force and one-hot alphas). Params count each weight once, at the
op owning it (`owns_weights`): a sharer whose owner is inactive would count its
own copy in `Space.cost`, a case this expectation leaves out.

Speed: the terms are built once per (metric, convention, table, config) and
summed by assignment, then grouped by assignment length, so a step costs one
gather and one product per group, not a loop over the graph.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import torch

from archc.compiler.latency_table import LatencyTable, graph_units, unit_spec
from archc.compiler.passes.count_cost import active_nodes, node_cost
from archc.dsl.symbolic import deps_of, evaluate

METRICS = ("macs", "params", "latency_ms")
Assignment = tuple[tuple[str, int], ...]  # ((choice, candidate index), ...)
Price = Callable[[dict[str, Any]], float]


def _terms(graph, labels, config, units) -> dict[Assignment, float]:
    """Summed price per assignment of the mixed choices a unit depends on, for every
    `units` item (nodes, price) and every assignment under which all its nodes run."""
    terms: dict[Assignment, float] = {}
    for nodes, price in units:
        irs = [graph.nodes[n]["ir"] for n in nodes]
        deps = set().union(*(deps_of(ir.guard) for ir in irs), *(_value_deps(ir) for ir in irs))
        mixing = sorted(deps & set(labels))
        for combo in itertools.product(*(range(len(labels[c])) for c in mixing)):
            assignment = dict(config) | {
                c: labels[c][i] for c, i in zip(mixing, combo, strict=True)
            }
            if all(evaluate(ir.guard, assignment) for ir in irs):
                value = price(assignment)
                if value:
                    key = tuple(zip(mixing, combo, strict=True))
                    terms[key] = terms.get(key, 0.0) + value
    return terms


def _value_deps(ir) -> set[str]:
    """Choices an op's attributes or shape depend on (its cost may change with them)."""
    out = set(deps_of(ir.shape))
    for value in ir.attrs.values():
        out |= set(deps_of(value))
    return out


def cost_terms(supernet, metric: str, config, *, table=None, convention="true"):
    """The {assignment: cost} of `metric` for `config`'s non-mixed choices."""
    graph, labels = supernet.graph, supernet.labels
    reachable = active_nodes(graph, config, set(labels))
    if metric == "latency_ms":
        units = [
            (unit.nodes, _latency_price(graph, table, unit))
            for unit in graph_units(graph)
            if unit.nodes[0] in set(reachable)
        ]
        terms = _terms(graph, labels, config, units)
        terms[()] = terms.get((), 0.0) + table.overhead_ms
        return terms
    field = metric

    def price(n):
        return lambda a: getattr(node_cost(graph, n, a, convention), field)

    ops = [n for n in reachable if graph.nodes[n]["ir"].kind == "op"]
    return _terms(graph, labels, config, [((n,), price(n)) for n in ops])


def _latency_price(graph, table: LatencyTable, unit) -> Price:
    return lambda assignment: table.lookup(unit_spec(graph, unit, assignment), graph)


class _Compiled:
    """Terms as index tensors: per assignment length, flat probability indices and prices."""

    def __init__(self, terms: dict[Assignment, float], order: list[str], sizes: dict[str, int]):
        offsets, start = {}, 0
        for choice in order:
            offsets[choice] = start
            start += sizes[choice]
        self.constant = terms.get((), 0.0)
        groups: dict[int, tuple[list, list]] = {}
        for assignment, price in terms.items():
            if assignment:
                index, prices = groups.setdefault(len(assignment), ([], []))
                index.append([offsets[c] + i for c, i in assignment])
                prices.append(price)
        self.groups = [
            (torch.tensor(index), torch.tensor(prices, dtype=torch.float64))
            for index, prices in groups.values()
        ]

    def __call__(self, flat: torch.Tensor) -> torch.Tensor:
        total = torch.tensor(self.constant, dtype=flat.dtype)
        for index, prices in self.groups:
            total = total + (flat[index].prod(dim=1) * prices.to(flat.dtype)).sum()
        return total


def expected_cost(
    supernet,
    metric: str,
    config: Mapping[str, Any] | None = None,
    *,
    table: LatencyTable | None = None,
    convention: str = "true",
) -> torch.Tensor:
    """E[`metric`] of the subnet under the mixing probabilities; differentiable in alpha.
    `metric`: macs, params or latency_ms (with `table`, a latency table)."""
    if metric not in METRICS:
        raise ValueError(f"unknown cost metric {metric!r}; expected one of {', '.join(METRICS)}")
    if metric == "latency_ms" and table is None:
        raise ValueError("expected latency needs a latency table (`archc lut`)")
    config = supernet.table.validate(
        config if config is not None else supernet.active or supernet.table.default()
    )
    probs = supernet.mixing_probabilities()
    order = sorted(probs)
    cache = supernet.__dict__.setdefault("_cost_terms", {})
    key = (metric, convention, id(table), config)
    if key not in cache or cache[key][0] is not table:  # an id can be reused after gc
        terms = cost_terms(supernet, metric, config, table=table, convention=convention)
        sizes = {c: len(supernet.labels[c]) for c in order}
        cache[key] = (table, _Compiled(terms, order, sizes))
    flat = torch.cat([probs[c] for c in order]) if order else torch.zeros(0)
    return cache[key][1](flat)


def expected_latency(
    supernet, table: LatencyTable, config: Mapping[str, Any] | None = None
) -> torch.Tensor:
    """E[latency] in ms from a latency table (EfficientPose Eq. 4); see `expected_cost`."""
    return expected_cost(supernet, "latency_ms", config, table=table)
