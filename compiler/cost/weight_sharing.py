"""Which shared-weight nodes need weights of their own in a config's subnet.

`scope b shares weights with a` ties every node of `b` to the node of the same
relative name in `a` (its owner: `node.weight_name`), while each scope makes
its own choices (ViPNAS 3.4.2: the non-key frames train one supernet's weights
and still choose different architectures). In the supernet a sharer uses a
slice of its owner's tensor. A derived subnet is a fixed network, so the rule
is: a sharer keeps the owner's module when the owner is in the subnet with the
same module signature (op, attributes, input shapes); otherwise it *diverges*
and gets its own module, with weights sliced from the shared supernet tensor.
Params count every module of the derived network once: an owner and its
agreeing sharers once, each diverging sharer again.

The same rule is applied in three places, which must agree: `derive_subnet`
(which renames a diverging sharer's weights to its own name),
`count_cost` (concrete) and the `CostModel` (`shared_cost` joins a table of
each side per call; `divergence`, the symbolic form, serves the rest).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import networkx as nx

from archc.compiler.ir import IRNode, input_ids
from archc.kernel.symbolic import apply, evaluate


def owners(graph: nx.MultiDiGraph) -> dict[int, int | None]:
    """Sharer id -> owner id (None when no node carries the owner's name)."""
    by_name = {graph.nodes[n]["ir"].name: n for n in graph.nodes}
    out = {}
    for n in graph.nodes:
        node: IRNode = graph.nodes[n]["ir"]
        if node.weight_name != node.name:
            out[n] = by_name.get(node.weight_name)
    return out


def signature(graph: nx.MultiDiGraph, n: int) -> tuple[Any, ...]:
    """What a node's module is built from, symbolic in the choices: op, attributes
    (in name order) and input shapes."""
    node: IRNode = graph.nodes[n]["ir"]
    attrs = tuple(node.attrs[k] for k in sorted(node.attrs))
    shapes = tuple(tuple(graph.nodes[i]["ir"].shape) for i in input_ids(graph, n))
    return (node.op, tuple(sorted(node.attrs)), attrs, shapes)


def diverging(
    graph: nx.MultiDiGraph, config: Mapping[str, Any], active: Collection[int]
) -> set[int]:
    """The active sharers that need their own module under `config`."""
    active = set(active)
    out = set()
    for n, owner in owners(graph).items():
        if n not in active:
            continue
        if (
            owner is None
            or owner not in active
            or evaluate(signature(graph, n), config) != evaluate(signature(graph, owner), config)
        ):
            out.add(n)
    return out


def divergence(graph: nx.MultiDiGraph, n: int, owner: int, active: Mapping[int, Any]) -> Any:
    """The condition (symbolic in the choices) under which sharer `n` diverges:
    active, and its owner inactive or built differently."""
    same = _equal(signature(graph, n), signature(graph, owner))
    return _and(active[n], _not(_and(active[owner], same)))


def _equal(a: Any, b: Any) -> Any:
    """`a == b` elementwise over nested tuples, symbolic where either side is."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        if len(a) != len(b):
            return False
        out: Any = True
        for x, y in zip(a, b, strict=True):
            out = _and(out, _equal(x, y))
            if out is False:
                return False
        return out
    if a is b:
        return True
    return apply("eq", a, b)


def _and(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is True:
        return b
    return a if b is True else apply("and", a, b)


def _not(a: Any) -> Any:
    return (not a) if isinstance(a, bool) else apply("not", a)
