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

An op counts only where the derived subnet keeps it: its guard holds and it is
live, i.e. not orphaned by the mixed choices downstream (every edge consuming it
chose `zero`, or a fused node's mixed input took the other branch;
`liveness.py`). The per-layer sum of EfficientPose and FBNet ignores that and
overcounts such spaces (3.5x on posenfs_mobilenet's fabric). The expectation is
exact: tested against brute force and against the argmax subnet's `Space.cost`
with one-hot alphas on darts_cell_demo, efficientpose and posenfs_mobilenet. Only
a liveness table past `liveness.LIMIT` entries would be projected (an upper
bound, counted in `Terms.approximate`); no example space needs it. Params count
each weight once, at the op owning it (`owns_weights`): a sharer whose owner is
inactive would count its own copy in `Space.cost`, a case left out here.

Speed: the priced tables are built once per (metric, convention, table, config)
(0.1-0.2 s on the examples), summed per support, and contracted with the
probability vectors by one einsum per table at each call (2-33 ms with the
backward pass on the examples, CPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from archc.compiler.backends.torch import liveness as lv
from archc.compiler.cost.count import node_cost
from archc.compiler.cost.latency_table import LatencyTable, as_table, graph_units, unit_spec
from archc.compiler.ir import active_nodes
from archc.kernel.symbolic import deps_of, evaluate

METRICS = ("macs", "params", "latency")
Price = Callable[[dict[str, Any]], float]


@dataclass
class Terms:
    """Price tables summed per support (the mixed choices they depend on)."""

    tables: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)
    # W x [A or any of R], R independent of W and A: (W, W x A or None, R)
    factored: list[tuple[lv.Table, lv.Table | None, tuple[lv.Table, ...]]] = field(
        default_factory=list
    )
    approximate: int = 0  # units whose liveness is over-approximated (`liveness.LIMIT`)

    def add(self, table: lv.Table) -> None:
        key = table.support
        self.tables[key] = self.tables.get(key, 0.0) + table.values

    def add_live(self, price: lv.Table, alive: lv.Live, sizes) -> None:
        """price x [alive]: one table, or factored where `alive` is an `AnyOf`."""
        if isinstance(alive, lv.Table):
            try:
                self.add(lv.combine(price, alive, np.multiply, sizes))
            except lv.TooLarge:
                self.approximate += 1
                self.add(price)
            return
        own = set(price.support)
        overlap = [p for p in alive.parts if own & set(p.support)]
        rest = tuple(p for p in alive.parts if not own & set(p.support))
        joint = None
        if overlap:
            joint = lv.combine(price, lv.dense(lv.AnyOf(tuple(overlap)), sizes), np.multiply, sizes)
        self.factored.append((price, joint, rest))


def cost_terms(supernet, metric: str, config, *, table=None, convention="true") -> Terms:
    """The priced tables of `metric` under `config`'s non-mixed choices: per unit (an
    op, or a latency unit), price x [guards hold] x [the unit is live]."""
    graph, labels = supernet.graph, supernet.labels
    reachable = active_nodes(graph, config, set(labels))
    live = lv.liveness(graph, labels, config, reachable)
    terms = Terms()
    if metric == "latency":
        keep = set(reachable)
        units = [(u.nodes, _latency_price(graph, table, u)) for u in graph_units(graph)]
        units = [(nodes, price) for nodes, price in units if nodes[0] in keep]
        terms.add(lv.Table((), np.array(table.overhead_ms)))
    else:
        ops = [n for n in reachable if graph.nodes[n]["ir"].kind == "op"]
        units = [((n,), _node_price(graph, n, metric, convention)) for n in ops]
    sizes = {c: len(v) for c, v in labels.items()}
    # units sharing one liveness table (a chain of ops) are priced first, then the sum
    # is multiplied by the table once: big tables are few, and built once each
    groups: dict[int, tuple[lv.Live, Terms]] = {}
    for nodes, price in units:
        alive = live.tables[nodes[0]]
        for n in nodes[1:]:  # a latency unit runs when all its ops do
            alive = lv.combine(
                lv.dense(alive, sizes), lv.dense(live.tables[n], sizes), np.logical_and, sizes
            )
        terms.approximate += alive.over
        priced = _priced_unit(graph, labels, config, nodes, price)
        if priced is not None:
            groups.setdefault(id(alive), (alive, Terms()))[1].add(priced)
    for alive, priced in groups.values():
        for support, values in priced.tables.items():
            terms.add_live(lv.Table(support, values), alive, sizes)
    return terms


def _priced_unit(graph, labels, config, nodes, price) -> lv.Table | None:
    """price x [every guard of the unit holds], over the mixed choices they depend on."""
    irs = [graph.nodes[n]["ir"] for n in nodes]
    deps = set().union(*(deps_of(ir.guard) for ir in irs), *(_value_deps(ir) for ir in irs))
    mixing = sorted(deps & set(labels))

    def priced(assignment: dict[str, Any]) -> float:
        full = dict(config) | assignment
        return price(full) if all(evaluate(ir.guard, full) for ir in irs) else 0.0

    table = lv.tabulate(mixing, labels, priced)
    return table if np.any(table.values) else None


def _value_deps(ir) -> set[str]:
    """Choices an op's attributes or shape depend on (its cost may change with them)."""
    out = set(deps_of(ir.shape))
    for value in ir.attrs.values():
        out |= set(deps_of(value))
    return out


def _node_price(graph, n: int, metric: str, convention: str) -> Price:
    return lambda assignment: getattr(node_cost(graph, n, assignment, convention), metric)


def _latency_price(graph, table: LatencyTable, unit) -> Price:
    return lambda assignment: table.lookup(unit_spec(graph, unit, assignment), graph)


class _Compiled:
    """The tables as float64 tensors: E = sum over tables of their contraction with
    each choice's probability vector (one einsum per support)."""

    def __init__(self, terms: Terms):
        self.tables = [_tensor(lv.Table(s, v)) for s, v in terms.tables.items()]
        self.factored = [
            (_tensor(w), None if wa is None else _tensor(wa), [_tensor(r) for r in rest])
            for w, wa, rest in terms.factored
        ]
        self.approximate = terms.approximate

    def __call__(self, probs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        probs = {c: p.double() for c, p in probs.items()}
        total = torch.zeros((), dtype=torch.float64)
        for table in self.tables:
            total = total + _contract(table, probs)
        for w, wa, rest in self.factored:
            # E[W (A or R)] = E[W] - (E[W] - E[W A]) x P(no part of R is live)
            cw = _contract(w, probs)
            cwa = _contract(wa, probs) if wa is not None else 0.0
            none = torch.ones((), dtype=torch.float64)
            for part in rest:
                none = none * (1 - _contract(part, probs))
            total = total + cw - (cw - cwa) * none
        return total


def _tensor(table: lv.Table) -> tuple[tuple[str, ...], torch.Tensor]:
    return table.support, torch.from_numpy(np.asarray(table.values, dtype=np.float64))


def _contract(table, probs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """sum over assignments of table[a] x prod of the probabilities a picks."""
    support, values = table
    if not support:
        return values
    operands: list[Any] = [values, list(range(len(support)))]
    for axis, choice in enumerate(support):
        operands += [probs[choice], [axis]]
    return torch.einsum(*operands, [])


def expected_cost(
    supernet,
    metric: str,
    config: Mapping[str, Any] | None = None,
    *,
    lut: LatencyTable | str | os.PathLike | None = None,
    convention: str = "true",
) -> torch.Tensor:
    """E[`metric`] of the subnet under the mixing probabilities; differentiable in alpha.
    `metric`: "macs", "params" or "latency" (ms, with `lut`: a latency table or the path
    of one, read once). The other choices take `config` (default: the active one)."""
    if metric not in METRICS:
        raise ValueError(f"unknown cost metric {metric!r}; expected one of {', '.join(METRICS)}")
    if metric == "latency" and lut is None:
        raise ValueError("expected latency needs a latency table (lut=, from `archc lut`)")
    table = None if lut is None else as_table(lut)
    config = supernet.table.validate(
        config if config is not None else supernet.active or supernet.table.default()
    )
    probs = supernet.mixing_probabilities()
    cache = supernet.__dict__.setdefault("_cost_terms", {})
    key = (metric, convention, id(table), config)
    if key not in cache or cache[key][0] is not table:  # an id can be reused after gc
        terms = cost_terms(supernet, metric, config, table=table, convention=convention)
        cache[key] = (table, _Compiled(terms))
    dtype = next(iter(probs.values())).dtype if probs else torch.float32
    return cache[key][1](probs).to(dtype)


def expected_latency(
    supernet, lut: LatencyTable | str | os.PathLike, config: Mapping[str, Any] | None = None
) -> torch.Tensor:
    """E[latency] in ms from a latency table (EfficientPose Eq. 4): `expected_cost`'s
    "latency" metric."""
    return expected_cost(supernet, "latency", config, lut=lut)
