"""Predicted latency from tables over groups of choices, as the cost model does it.

`LatencyTable.predict` walks a config's subnet and looks up every unit: exact, and
the reference, but a search predicts thousands of configs. Here each unit
contributes `[anchor active] * lookup(unit spec)`, both functions of a few choices
(the anchor's activity from `model.activity`, the spec from the attributes and
input shapes). Units that depend on the same choices are summed into one table
over every combination of those choices, so a prediction is one lookup per group,
and `BatchCostModel` gathers the same tables as numpy arrays for `cost_many`.

A combination whose spec the latency table lacks (a unit shape `archc lut` never
measured), or that no valid config has (values of dependent choices that do not go
together), is stored as NaN; a config that reaches one is predicted by `predict`,
which raises the located error for a missing unit. Groups too large to tabulate are summed per
config. Sums are in a different order than `predict`'s, so the two agree to
floating-point rounding (about 1e-12 ms), not bit for bit.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import networkx as nx

from archc.compiler.cost.latency_table import (
    LatencyTable,
    Unit,
    graph_units,
    spec_key,
    unit_deps,
    unit_spec,
)
from archc.kernel.symbolic import Evaluation, deps_of

MAX_TABLE = 200_000  # entries of one group's table, as for params and MACs


class LatencyModel:
    """`model(config) -> ms`, built once per (space, latency table, scope).

    `activity` and `values` are the cost model's (`CostModel.activity`, `.values`):
    the tables share its axes, so the batch model gathers them at the same codes."""

    def __init__(
        self,
        graph: nx.MultiDiGraph,
        table: LatencyTable,
        activity: Mapping[int, Any],
        values: Mapping[str, tuple],
        scope: str | None = None,
    ):
        self.graph, self.table, self.scope, self.values = graph, table, scope, values
        self.constant = table.overhead_ms if scope is None else 0.0
        self.tables: list[tuple[tuple[str, ...], dict[tuple, float]]] = []
        self.direct: list[tuple[Any, Unit]] = []
        groups: dict[tuple[str, ...], list[tuple[Any, Unit]]] = defaultdict(list)
        for unit in self._units():
            active = activity[unit.nodes[0]]
            if active is not False:
                groups[tuple(sorted(unit_deps(graph, unit) | deps_of(active)))].append(
                    (active, unit)
                )
        for names, terms in groups.items():
            self._add_group(names, terms)

    def _units(self) -> list[Unit]:
        units = graph_units(self.graph)
        if self.scope is None:
            return units
        prefix = self.scope + "."
        return [u for u in units if self.graph.nodes[u.nodes[0]]["ir"].name.startswith(prefix)]

    def _add_group(self, names: tuple[str, ...], terms: list[tuple[Any, Unit]]) -> None:
        if math.prod(len(self.values[n]) for n in names) > MAX_TABLE:
            self.direct.extend(terms)
            return
        table = {}
        for combo in itertools.product(*(self.values[n] for n in names)):
            try:
                ms = self._sum(terms, dict(zip(names, combo, strict=True)), missing=math.nan)
            except (ArithmeticError, ValueError, TypeError):  # values no valid config pairs
                ms = math.nan  # a config that reaches it (none should) is predicted by walk
            table[combo] = ms
        if names:
            self.tables.append((names, table))
        else:
            self.constant += table[()]

    def _sum(self, terms, config: Mapping[str, Any], missing: float | None = None) -> float:
        """Milliseconds of the active units among `terms`; `missing` for a spec the
        latency table lacks (None: raise its error)."""
        total, value = 0.0, Evaluation(config)
        for active, unit in terms:
            if not value(active):
                continue
            spec = unit_spec(self.graph, unit, config)
            key = spec_key(spec)
            if key in self.table.entries:
                total += self.table.entries[key]
            elif missing is None:
                self.table.lookup(spec, self.graph)  # raises the table's located error
            else:
                return missing
        return total

    def direct_ms(self, config: Mapping[str, Any]) -> float:
        """Milliseconds of the units of groups too large to tabulate."""
        return self._sum(self.direct, config)

    def __call__(self, config: Mapping[str, Any]) -> float:
        """Predicted milliseconds of a valid `config` (the error `predict` gives when
        the latency table lacks one of its units)."""
        total = self.constant
        for names, table in self.tables:
            total += table[tuple(config[n] for n in names)]
        if self.direct:
            total += self.direct_ms(config)
        if math.isnan(total):
            return self.table.predict(self.graph, config, self.scope)  # raises for the gap
        return total
