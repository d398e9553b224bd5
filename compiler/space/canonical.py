"""Configs that build the same network: a canonical form, and how many networks a
space holds.

A config sets every choice, but a choice read only by blocks that the config
switches off (the kernel of a block beyond the chosen depth, the op of a branch
not taken) cannot change the network. Counting configs therefore overstates a
space (Once-for-All MobileNetV3: 2.95e21 configs, (9^2+9^3+9^4)^5 ~ 2e19
networks), and a search that hashes raw configs evaluates one network many
times. A choice is *relevant* to a config when a node of the config's subnet
reads it (in its attributes, shape, guard, or as the choice of a `choose`), or
when it bounds the domain of a relevant choice (a parent of a dependent domain).
The canonical form keeps the relevant values and sets every other choice to its
default (the first candidate where the default is not allowed): two configs
with the same canonical form build the same network.

Counting the canonical configs is a sum over all configs of a product of
indicators "relevant, or at its canonical value", one per choice, over the
choices its relevance condition reads: a sum-product that variable elimination
(`factors`) computes exactly on spaces made of stages. Where a condition or an
intermediate table is too large, the count falls back to the number of configs,
labelled a bound.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

import networkx as nx

from archc.compiler.cost.extremes import validity_factor
from archc.compiler.cost.factors import MAX_FACTOR, SUM_PRODUCT, Factor, TooLarge, eliminate_all
from archc.compiler.cost.model import either
from archc.compiler.decide import possible_values, tabulate
from archc.compiler.ir import IRNode, active_nodes
from archc.compiler.space.config import Config
from archc.compiler.space.domains import Choice
from archc.compiler.space.table import ChoiceTable
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import apply, deps_of, evaluate


class Relevance:
    """Which choices a config's network depends on, per node of the space's graph."""

    def __init__(self, graph: nx.MultiDiGraph, table: ChoiceTable) -> None:
        self.graph = graph
        self.table = table
        self.reads = {n: node_reads(graph.nodes[n]["ir"]) for n in graph.nodes}

    def relevant(self, config: Mapping[str, Any]) -> set[str]:
        """The choices `config`'s network depends on (see the module docstring)."""
        names: set[str] = set()
        for n in active_nodes(self.graph, config):
            names |= self.reads[n]
        for choice in reversed(self.table.choices):  # children come after parents
            if choice.name in names:
                names.update(choice.parents)
        return names

    def canonical(self, config: Mapping[str, Any]) -> Config:
        """`config` with every choice it does not depend on at its canonical value."""
        config = self.table.validate(config)
        keep = self.relevant(config)
        values: dict[str, Any] = {}
        for choice in self.table.choices:
            if choice.name in keep:
                values[choice.name] = config[choice.name]
            else:
                domain = self.table.domain_of(choice.name, values)
                values[choice.name] = canonical_value(choice, domain)
        return Config(values, self.table.space)


def canonical_value(choice: Choice, domain: tuple[Any, ...]) -> Any:
    """What an irrelevant choice is set to: its default, or the first candidate."""
    return choice.default if choice.default in domain else domain[0]


def node_reads(node: IRNode) -> frozenset[str]:
    """The choices a node's attributes, shape and guard read, and the choice it chooses by."""
    names = set(_deps(node.attrs)) | set(_deps(node.shape)) | set(_deps(node.guard))
    if node.kind == "choose":
        names.add(node.attrs["choice"])
    return frozenset(names)


def _deps(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _deps(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _deps(v)
    else:
        yield from deps_of(value)


def count_architectures(
    relevance: Relevance, activity: Mapping[int, Any], specs: Mapping[str, ChoiceSpec]
) -> int:
    """The exact number of canonical configs (distinct networks); `TooLarge` when a
    table would be too large. `activity` is the cost model's node -> condition."""
    conditions = _relevance_conditions(relevance, activity, specs)
    values = {name: possible_values(spec, specs) for name, spec in specs.items()}
    factors: list[Factor] = [((name,), {(v,): 1 for v in vs}) for name, vs in values.items()]
    factors += [validity_factor(s, specs, values, 1, 0) for s in specs.values() if s.dependent]
    for choice in relevance.table.choices:
        if conditions[choice.name] is not True:
            factors.append(_indicator(choice, conditions[choice.name], relevance.table, values))
    return eliminate_all(factors, values, SUM_PRODUCT)


def _relevance_conditions(relevance: Relevance, activity, specs) -> dict[str, Any]:
    """Per choice, the condition on the config under which the network depends on it:
    the `or` of the distinct activity conditions of its readers, tabulated once."""
    # by identity: conditions are shared objects, and hashing a deep one walks it all
    readers: dict[str, dict[int, Any]] = {c.name: {} for c in relevance.table.choices}
    for n, names in relevance.reads.items():
        for name in names:
            readers[name][id(activity[n])] = activity[n]
    conditions = {name: _any(list(conds.values()), specs) for name, conds in readers.items()}
    for choice in reversed(relevance.table.choices):
        for parent in choice.parents:
            conditions[parent] = either(conditions[parent], conditions[choice.name], specs)
    return conditions


def _any(conditions: list[Any], specs) -> Any:
    if any(c is True for c in conditions):
        return True
    conditions = [c for c in conditions if c is not False]
    if not conditions:
        return False
    return tabulate(functools.reduce(lambda a, b: apply("or", a, b), conditions), specs)


def _indicator(choice: Choice, condition: Any, table: ChoiceTable, values) -> Factor:
    """1 where `choice` is relevant or at its canonical value, else 0."""
    names = tuple(sorted({choice.name, *choice.parents, *deps_of(condition)}))
    if math.prod(len(values[n]) for n in names) > MAX_FACTOR:
        raise TooLarge(f"the relevance of `{choice.name}` reads {len(names)} choices")
    factor: dict[tuple, int] = {}
    for combo in itertools.product(*(values[n] for n in names)):
        assign = dict(zip(names, combo, strict=True))
        try:
            domain = table.domain_of(choice.name, assign)
        except ValueError:  # parents outside their own domains: a validity factor zeroes it
            factor[combo] = 0
            continue
        canonical = bool(domain) and assign[choice.name] == canonical_value(choice, domain)
        factor[combo] = int(canonical or bool(evaluate(condition, assign)))
    return names, factor
