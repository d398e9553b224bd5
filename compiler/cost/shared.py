"""The params that weight sharers add, for the cost model: two tables joined per call.

A sharer's params count when it diverges from its owner (`weight_sharing`): a
condition on the sharer's choices *and* the owner's. Tabulating it over both
sets at once squares the table (ViPNAS temporal frames: 46,656 entries per
stage, 460k in all, 16 s to build). The condition only compares what each side
builds, so each side is tabulated alone, over its own choices: per combination
the activity, module signature and params of every sharer of the group, and the
activity and signature of every owner. A call looks up both rows and compares
them, remembering the answer for that pair of rows.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from archc.compiler.cost.weight_sharing import signature
from archc.compiler.ir import IRNode, input_ids
from archc.compiler.ops import Rules, get
from archc.kernel.symbolic import Evaluation, deps_of

Key = tuple[tuple[str, ...], tuple[str, ...]]


class SharedParams:
    """`group(config) -> params` of the diverging sharers of one group of sharers
    whose own choices (and whose owners' choices) are the same."""

    def __init__(self, names: Key, sharers: dict, owners: dict):
        self.names = names
        self._sharers, self._owners = sharers, owners
        self._memo: dict[tuple, int] = {}

    def __call__(self, config: Mapping[str, Any]) -> int:
        mine = tuple(config[n] for n in self.names[0])
        theirs = tuple(config[n] for n in self.names[1])
        params = self._memo.get((mine, theirs))
        if params is None:
            params = self._memo[(mine, theirs)] = self.join(mine, theirs)
        return params

    def join(self, mine: tuple, theirs: tuple) -> int:
        params = 0
        for (active, sig, p), (owner_active, owner_sig) in zip(
            self._sharers[mine], self._owners[theirs], strict=True
        ):
            if active and not (owner_active and sig == owner_sig):
                params += p
        return params

    def max_params(self) -> int:
        """An upper bound: every sharer diverging at its largest."""
        count = len(next(iter(self._sharers.values())))
        return sum(max(row[i][2] for row in self._sharers.values()) for i in range(count))


def shared_params(
    graph: nx.MultiDiGraph,
    pairs: Iterable[tuple[int, int]],
    active: Mapping[int, Any],
    values: Mapping[str, tuple],
    max_table: int,
) -> tuple[list[SharedParams], list[tuple[int, int]]]:
    """Groups for the (sharer, owner) `pairs`, and the pairs whose tables would
    exceed `max_table` entries (the caller evaluates those directly)."""
    groups: dict[Key, list[tuple]] = defaultdict(list)
    for n, owner in pairs:
        mine = (active[n], signature(graph, n), node_params(graph, n))
        theirs = (active[owner], signature(graph, owner))
        groups[(tuple(sorted(deps_of(mine))), tuple(sorted(deps_of(theirs))))].append(
            (mine, theirs, (n, owner))
        )
    out, too_large = [], []
    for key, items in groups.items():
        if max(_size(names, values) for names in key) > max_table:
            too_large += [pair for *_, pair in items]
            continue
        sharers = _table(key[0], [mine for mine, _, _ in items], values, _sharer_row)
        owners = _table(key[1], [theirs for _, theirs, _ in items], values, _owner_row)
        out.append(SharedParams(key, sharers, owners))
    return out, too_large


def node_params(graph: nx.MultiDiGraph, n: int) -> Any:
    """The params of op `n`'s module, symbolic in the choices."""
    node: IRNode = graph.nodes[n]["ir"]
    rules = Rules(node.attrs, [graph.nodes[i]["ir"].shape for i in input_ids(graph, n)])
    return get(node.op).params(rules, node.shape)


def _size(names: tuple[str, ...], values: Mapping[str, tuple]) -> int:
    return math.prod(len(values[n]) for n in names)


def _table(
    names: tuple[str, ...], exprs: list[tuple], values: Mapping[str, tuple], row
) -> dict[tuple, tuple]:
    table = {}
    for combo in itertools.product(*(values[n] for n in names)):
        value = Evaluation(dict(zip(names, combo, strict=True)))
        table[combo] = tuple(row(value, e) for e in exprs)
    return table


def _sharer_row(value: Evaluation, expr: tuple) -> tuple[bool, Any, int]:
    active, sig, params = expr
    if not value(active):
        return (False, None, 0)
    return (True, value(sig), int(value(params)))


def _owner_row(value: Evaluation, expr: tuple) -> tuple[bool, Any]:
    active, sig = expr
    return (True, value(sig)) if value(active) else (False, None)
