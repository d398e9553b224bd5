"""The exact number of valid configs of a table whose domains may depend on each other.

Without dependent domains the count is the product of the domain sizes. With
them, `g` in `divisors(w * e)` has a different number of candidates for each
`(w, e)`, so the count is a sum over parent values. Enumerating every config
is hopeless (ViPNAS-like spaces have 10^10 and more), so:

1. Choices are grouped into components: two choices are in one component when
   one's domain reads the other, directly or through others. Components are
   independent, so the total is the product of their counts; a choice nobody
   reads and that reads nobody is a component of its own, counted by its size.
2. Within a component, choices are visited in table order (parents come
   first) with a table of partial assignments -> number of ways to reach them.
   A value is kept in the assignment only while a later choice of the
   component still reads it; a choice that no later choice reads is not
   branched on, its domain size multiplies the ways instead. So the work is
   the number of distinct *live* assignments, not the number of configs: for
   a stage's `(w, e) -> g` it is 6 states, however many other choices there are.

The counts are Python ints, exact at any size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from archc.compiler.space.domains import Choice

DomainOf = Callable[[Choice, dict[str, Any]], tuple[Any, ...]]


def count_configs(choices: Sequence[Choice], domain_of: DomainOf) -> int:
    """The number of valid configs; `domain_of(choice, parents)` gives concrete domains."""
    total = 1
    for component in components(choices):
        total *= _count_component(component, domain_of)
    return total


def components(choices: Sequence[Choice]) -> list[list[Choice]]:
    """The choices grouped by dependency, each group in table order (union-find)."""
    root = {c.name: c.name for c in choices}

    def find(name: str) -> str:
        while root[name] != name:
            root[name] = root[root[name]]
            name = root[name]
        return name

    for c in choices:
        for p in c.parents:
            root[find(c.name)] = find(p)
    groups: dict[str, list[Choice]] = {}
    for c in choices:
        groups.setdefault(find(c.name), []).append(c)
    return list(groups.values())


def _count_component(component: list[Choice], domain_of: DomainOf) -> int:
    if len(component) == 1 and not component[0].dependent:
        return len(component[0].domain or ())
    last_read = _last_reads(component)
    states: dict[tuple[tuple[str, Any], ...], int] = {(): 1}
    for i, choice in enumerate(component):
        following: dict[tuple[tuple[str, Any], ...], int] = defaultdict(int)
        for state, ways in states.items():
            assigned = dict(state)
            domain = domain_of(choice, assigned)
            kept = tuple((n, v) for n, v in state if last_read[n] > i)
            if choice.name not in last_read:  # no later domain reads it: no branching
                following[kept] += ways * len(domain)
                continue
            for value in domain:
                following[(*kept, (choice.name, value))] += ways
        states = following
    return sum(states.values())


def _last_reads(component: list[Choice]) -> dict[str, int]:
    """For each choice that some domain reads, the position of the last such reader."""
    last: dict[str, int] = {}
    for i, choice in enumerate(component):
        for p in choice.parents:
            last[p] = i
    return last
