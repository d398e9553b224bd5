"""A fast, exact cost model for search: params and MACs of any config in microseconds.

Each op contributes `[active] * params` and `[active] * macs`, where `active` is
the symbolic condition under which the op is in the config's subnet (derived
from the selects and chooses between it and the outputs) and the counts come
from the op's registry rule on symbolic shapes. Terms that depend on the same
few choices are summed once for every combination of those choices into a
table, so the cost of a config is one table lookup per group (typically a
stage): no graph walk, no generated code. Groups too large to tabulate are
evaluated directly. `count_cost` (the graph walk) is the reference it must equal.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import networkx as nx

from archc.compiler.cost.count import Cost
from archc.compiler.cost.shared import node_params, shared_params
from archc.compiler.cost.weight_sharing import divergence, owners
from archc.compiler.decide import possible_values, tabulate
from archc.compiler.ir import IRNode, facts, input_ids
from archc.compiler.ops import Rules, get
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import ChoiceRef, Evaluation, apply, deps_of

MAX_TABLE = 200_000  # entries of one group's table; larger groups are evaluated directly


def activity(graph: nx.MultiDiGraph, choices: Mapping[str, ChoiceSpec]) -> dict[int, Any]:
    """For every node, the condition under which the config's subnet computes it."""
    active: dict[int, Any] = {n: False for n in graph.nodes}
    for n in facts(graph).outputs.values():
        active[n] = True
    for n in sorted(graph.nodes, reverse=True):
        node: IRNode = graph.nodes[n]["ir"]
        if active[n] is False:
            continue
        for port, src in enumerate(input_ids(graph, n)):
            edge = _edge_condition(node, port)
            reach = active[n] if edge is True else apply("and", active[n], edge)
            active[src] = either(active[src], reach, choices)
    return active


def either(a: Any, b: Any, choices: Mapping[str, ChoiceSpec]) -> Any:
    """`a or b`, decided over the choices (or tabulated: `decide.tabulate`) only when
    both sides are conditions."""
    if a is True or b is True:
        return True
    if a is False or a == b:
        return b
    return tabulate(apply("or", a, b), choices)


def _edge_condition(node: IRNode, port: int) -> Any:
    if node.kind == "select":
        return node.attrs["cond"] if port == 0 else apply("not", node.attrs["cond"])
    if node.kind == "choose":
        return apply("eq", ChoiceRef(node.attrs["choice"], "str"), node.attrs["labels"][port])
    return True


class CostModel:
    """`model(config) -> Cost`, built once per space (and counting convention)."""

    def __init__(self, graph: nx.MultiDiGraph, convention: str = "true", scope: str | None = None):
        """`scope` (e.g. `frame[1]`) counts only the ops named inside that scope."""
        choices = {c.name: c for c in facts(graph).choices}
        self.choices = choices
        self._values = {name: possible_values(spec, choices) for name, spec in choices.items()}
        groups: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
        active = activity(graph, choices)
        self.activity = active  # node -> when the config's subnet computes it
        pairs: list[tuple[int, int]] = []
        for term in _terms(graph, active, convention, scope, pairs):
            groups[tuple(sorted(deps_of(term)))].append(term)
        self.constant = Cost(0, 0)
        self.tables: list[tuple[tuple[str, ...], dict]] = []
        self.direct: list[tuple] = []
        for names, terms in groups.items():
            self._add_group(names, terms)
        self.shared, too_large = shared_params(graph, pairs, active, self._values, MAX_TABLE)
        for n, owner in too_large:
            self.direct.append((divergence(graph, n, owner, active), node_params(graph, n), 0))

    @property
    def values(self) -> dict[str, tuple]:
        """Every value each choice can take (`decide.possible_values`): the tables' axes."""
        return self._values

    def _add_group(self, names: tuple[str, ...], terms: list[tuple]) -> None:
        if not names:
            p, m = _sum_terms(terms, {})
            self.constant = Cost(self.constant.params + p, self.constant.macs + m)
            return
        sizes = [len(self._values[n]) for n in names]
        if math.prod(sizes) > MAX_TABLE:
            self.direct.extend(terms)
            return
        table = {}
        for combo in itertools.product(*(self._values[n] for n in names)):
            table[combo] = _sum_terms(terms, dict(zip(names, combo, strict=True)))
        self.tables.append((names, table))

    def __call__(self, config: Mapping[str, Any]) -> Cost:
        params, macs = self.constant.params, self.constant.macs
        for names, table in self.tables:
            p, m = table[tuple(config[n] for n in names)]
            params += p
            macs += m
        if self.direct:
            p, m = _sum_terms(self.direct, config)
            params += p
            macs += m
        for group in self.shared:
            params += group(config)
        return Cost(params=params, macs=macs)


def _terms(
    graph,
    active: Mapping[int, Any],
    convention: str,
    scope: str | None,
    pairs: list[tuple[int, int]],
):
    """(active, params, macs) of every op (inside `scope`), symbolic in the choices.

    A node sharing another's weights yields its MACs only; its params count when
    it diverges (`weight_sharing`), which needs both sides' choices: its (node,
    owner) pair is appended to `pairs` for `shared_cost`. Inside a `scope`,
    every op's params count: a scope's cost is its subnetwork's on its own,
    shared weights included.
    """
    sharers = owners(graph) if scope is None else {}
    for n in sorted(graph.nodes):
        node: IRNode = graph.nodes[n]["ir"]
        if node.kind != "op" or active[n] is False:
            continue
        if scope is not None and not node.name.startswith(scope + "."):
            continue
        rule = get(node.op)
        rules = Rules(node.attrs, [graph.nodes[i]["ir"].shape for i in input_ids(graph, n)])
        macs = rule.macs_for(convention)(rules, node.shape)
        if sharers.get(n) is not None:
            pairs.append((n, sharers[n]))
            yield (active[n], 0, macs)
        else:
            yield (active[n], rule.params(rules, node.shape), macs)


def _sum_terms(terms: list[tuple], config: Mapping[str, Any]) -> tuple[int, int]:
    params = macs = 0
    value = Evaluation(config)
    for active, p, m in terms:
        if value(active):
            params += value(p)
            macs += value(m)
    return int(params), int(macs)
