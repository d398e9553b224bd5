"""Which mixed-choice assignments keep an op in the derived subnet: boolean tables.

In a supernet every candidate is computed, but the subnet derived from an
assignment of the mixed choices keeps an op only if its guard holds *and* some
path from it to an output passes only taken edges (a `choose` takes the
candidate its choice names). A candidate `zero`, or a fused node whose mixed
input took the other branch, orphans everything upstream that only it
consumed; the subnet (and `Space.cost`) drops those ops. Pricing ops by their
guard alone overcounts them (up to 3.5x on posenfs_mobilenet's fabric).

A `Table` is a boolean (or priced) function of a few mixed choices, kept as a
dense numpy array over their candidates, reduced to the choices it really
depends on after every operation, so liveness tables stay small: an op
everything flows through is simply `TRUE`. Liveness is computed once, in
reverse topological order: L(n) = OR over consumers m of L(m) AND edge(n, m).
A table that would exceed `LIMIT` entries is projected onto fewer choices (OR over
the others: true wherever some value of them keeps the op): an over-approximation,
so the op may count where the subnet drops it (an upper bound), marked `over`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from archc.compiler.ir import facts, input_ids, taken_inputs

LIMIT = 1 << 22  # entries of one table (32 MiB as float64)


class TooLarge(Exception):
    """A table over more than `LIMIT` assignments."""


@dataclass(frozen=True)
class Table:
    support: tuple[str, ...]  # sorted choice names, one axis each
    values: np.ndarray
    over: bool = False  # an over-approximation (a projection made it fit `LIMIT`)

    def expand(self, support: tuple[str, ...], sizes: Mapping[str, int]) -> np.ndarray:
        """The values with singleton axes for the choices of `support` not in this one
        (both sorted, so the kept axes stay in order)."""
        shape = [sizes[c] if c in self.support else 1 for c in support]
        return self.values.reshape(shape)


TRUE = Table((), np.array(True))
FALSE = Table((), np.array(False))


def combine(a: Table, b: Table, op: Callable, sizes: Mapping[str, int]) -> Table:
    """`op` of two tables over the union of their choices, reduced. AND with TRUE and
    OR with FALSE return the other table itself, so a chain of ops shares one table."""
    if (op in (np.logical_and, np.multiply) and b is TRUE) or (op is np.logical_or and b is FALSE):
        return a
    if (op is np.logical_and and a is TRUE) or (op is np.logical_or and a is FALSE):
        return b
    support = tuple(sorted(set(a.support) | set(b.support)))
    over = a.over or b.over
    if math.prod(sizes[c] for c in support) > LIMIT:
        if op is np.multiply:
            raise TooLarge
        support = _fitting(a, b, sizes)
        a, b, over = project(a, support), project(b, support), True
    values = op(a.expand(support, sizes), b.expand(support, sizes))
    values = np.broadcast_to(values, [sizes[c] for c in support])
    return reduce(Table(support, np.ascontiguousarray(values), over))


def _fitting(a: Table, b: Table, sizes: Mapping[str, int]) -> tuple[str, ...]:
    """A support within `LIMIT`: the union less the choices of the larger table's
    last axes (boolean tables are projected onto it, see `project`)."""
    keep = sorted(set(a.support) | set(b.support))
    drop = [c for c in (*reversed(a.support), *reversed(b.support)) if c in keep]
    while math.prod(sizes[c] for c in keep) > LIMIT:
        keep.remove(drop.pop(0))
    return tuple(keep)


def project(table: Table, support: tuple[str, ...]) -> Table:
    """The table's OR over the choices not in `support`: true wherever some value of
    the dropped choices makes it true (a superset: live ops stay live)."""
    axes = tuple(i for i, c in enumerate(table.support) if c not in support)
    if not axes:
        return table
    kept = tuple(c for c in table.support if c in support)
    return Table(kept, np.any(table.values, axis=axes), True)


def reduce(table: Table) -> Table:
    """Drop the choices the table does not depend on (constant along their axis)."""
    support, values = list(table.support), table.values
    for axis in reversed(range(len(support))):
        first = np.take(values, [0], axis=axis)
        if np.all(values == first):
            values = np.take(values, 0, axis=axis)
            del support[axis]
    if not support and not table.over and values.dtype == bool:
        return TRUE if bool(values) else FALSE  # the singletons: `combine` shortcuts them
    return Table(tuple(support), values, table.over)


def literal(choice: str, indices: list[int], sizes: Mapping[str, int]) -> Table:
    values = np.zeros(sizes[choice], dtype=bool)
    values[indices] = True
    return reduce(Table((choice,), values))


@dataclass(frozen=True)
class AnyOf:
    """The OR of tables over pairwise disjoint choices: independent events, so
    P = 1 - prod(1 - P(part)) without a table over all their choices. A trunk shared
    by independent branches (PoseNFS' parts) is live if any branch uses it: its
    dense table would span every branch's choices (3^21 entries)."""

    parts: tuple[Table, ...]

    @property
    def over(self) -> bool:
        return any(p.over for p in self.parts)


Live = Table | AnyOf


def either(a: Live, b: Live, sizes: Mapping[str, int]) -> Live:
    """a OR b, keeping parts on disjoint choices apart (merged where they overlap)."""
    if a is FALSE or b is TRUE:
        return b
    if b is FALSE or a is TRUE:
        return a
    parts = list(a.parts if isinstance(a, AnyOf) else (a,))
    for part in b.parts if isinstance(b, AnyOf) else (b,):
        overlap = [q for q in parts if set(q.support) & set(part.support)]
        for q in overlap:
            part = combine(part, q, np.logical_or, sizes)
        parts = [q for q in parts if all(q is not o for o in overlap)] + [part]
    if any(p is TRUE for p in parts):
        return TRUE
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


def dense(a: Live, sizes: Mapping[str, int]) -> Table:
    """One table for `a` (projected if too large: see `combine`)."""
    if isinstance(a, Table):
        return a
    out = FALSE
    for part in a.parts:
        out = combine(out, part, np.logical_or, sizes)
    return out


@dataclass
class Liveness:
    tables: dict[int, Live]


def liveness(graph, labels: Mapping[str, tuple], config: Mapping[str, Any], reachable) -> Liveness:
    """L(n) for every node of `reachable` (the supernet's nodes under `config`)."""
    sizes = {c: len(v) for c, v in labels.items()}
    keep = set(reachable)
    outputs = set(facts(graph).outputs.values())
    tables: dict[int, Live] = {}
    for n in sorted(keep, reverse=True):  # ids are in topological order
        live: Live = TRUE if n in outputs else FALSE
        for m in sorted(set(graph.successors(n)) & keep):
            edge = _edge(graph, n, m, labels, config, sizes)
            through = tables[m] if edge is TRUE else FALSE
            if edge is not TRUE and edge is not FALSE:
                through = combine(dense(tables[m], sizes), edge, np.logical_and, sizes)
            live = either(live, through, sizes)
        tables[n] = live
    return Liveness(tables)


def _edge(graph, n: int, m: int, labels, config, sizes) -> Table:
    """When the edge n -> m is taken: always, unless m chooses among its inputs (a
    choice in `labels` is kept as a variable of the table)."""
    node = graph.nodes[m]["ir"]
    inputs = input_ids(graph, m)
    if node.kind == "choose" and node.attrs["choice"] in labels:
        return literal(node.attrs["choice"], [i for i, x in enumerate(inputs) if x == n], sizes)
    return TRUE if n in taken_inputs(node, inputs, config) else FALSE


def tabulate(
    choices: list[str], labels: Mapping[str, tuple], value: Callable[[dict[str, Any]], float]
) -> Table:
    """`value(assignment)` for every assignment of `choices` (float table), reduced."""
    sizes = [len(labels[c]) for c in choices]
    if math.prod(sizes) > LIMIT:
        raise TooLarge
    values = np.zeros(sizes, dtype=np.float64)
    for combo in np.ndindex(*sizes):
        values[combo] = value({c: labels[c][i] for c, i in zip(choices, combo, strict=True)})
    return reduce(Table(tuple(choices), values))
