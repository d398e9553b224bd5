"""`IRGraph`: the lowered graph before anyone asks for a networkx one.

Importing networkx costs about 130 ms, more than checking a small file, and
`archc check` (run by an editor on every save) only needs the graph to count its
nodes. Lowering, dead-node elimination and the verifier use this small part of
networkx's `MultiDiGraph` API; `to_networkx()` replays the nodes and edges in
the order they were added, which gives exactly the graph lowering used to build
with networkx itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class IRGraph:
    """A directed multigraph with keyed edges, as networkx keeps one: `graph` (its
    attributes), `nodes[n]` (a node's attributes), `_pred[v][u][key]` (edge data)."""

    def __init__(self) -> None:
        self.graph: dict[str, Any] = {}
        self.nodes: dict[Any, dict[str, Any]] = {}
        self._pred: dict[Any, dict[Any, dict[Any, dict]]] = {}
        self._edges: list[tuple[Any, Any, Any]] = []  # (u, v, key) in the order added

    def __contains__(self, n: Any) -> bool:
        return n in self.nodes

    def __iter__(self) -> Iterator:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def number_of_nodes(self) -> int:
        return len(self.nodes)

    def add_node(self, n: Any, **attrs: Any) -> None:
        if n not in self.nodes:
            self.nodes[n] = {}
            self._pred[n] = {}
        self.nodes[n].update(attrs)

    def add_edge(self, u: Any, v: Any, key: Any, **attrs: Any) -> None:
        self.add_node(u)
        self.add_node(v)
        keys = self._pred[v].setdefault(u, {})
        if key not in keys:
            keys[key] = {}
            self._edges.append((u, v, key))
        keys[key].update(attrs)

    def predecessors(self, n: Any) -> Iterator:
        return iter(self._pred[n])

    def in_edges(self, n: Any, keys: bool = False) -> list[tuple]:
        return [(u, n, k) if keys else (u, n) for u, ks in self._pred[n].items() for k in ks]

    def subgraph(self, nodes: Iterable) -> IRGraph:
        """A copy holding `nodes` and the edges between them (networkx gives a view;
        callers here always copy it). Built dict by dict: lowering's graphs of a few
        thousand nodes are copied on every `archc check`."""
        keep = nodes if isinstance(nodes, (set, frozenset)) else set(nodes)
        sub = IRGraph()
        sub.graph.update(self.graph)
        sub.nodes = {n: dict(attrs) for n, attrs in self.nodes.items() if n in keep}
        sub._pred = {
            v: {
                u: {k: dict(data) for k, data in keys.items()}
                for u, keys in self._pred[v].items()
                if u in keep
            }
            for v in sub.nodes
        }
        sub._edges = [e for e in self._edges if e[0] in keep and e[1] in keep]
        return sub

    def copy(self) -> IRGraph:
        return self.subgraph(self.nodes)

    def to_networkx(self):
        """The same graph as a `networkx.MultiDiGraph`, nodes and edges in the order
        they were added here."""
        import networkx as nx

        g = nx.MultiDiGraph()
        g.graph.update(self.graph)
        g.add_nodes_from(self.nodes.items())
        g.add_edges_from((u, v, k, self._pred[v][u][k]) for u, v, k in self._edges)
        return g


def ancestors(graph: Any, n: Any) -> set:
    """Every node with a path to `n` (`networkx.ancestors`, for either kind of graph)."""
    seen: set = set()
    todo = [n]
    while todo:
        for p in graph.predecessors(todo.pop()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    seen.discard(n)
    return seen


def is_acyclic(graph: Any) -> bool:
    """`networkx.is_directed_acyclic_graph`, for either kind of graph (Kahn's algorithm)."""
    preds = {n: list(graph.predecessors(n)) for n in graph.nodes}  # each one once
    waiting = {n: len(ps) for n, ps in preds.items()}
    ready = [n for n, k in waiting.items() if k == 0]
    successors: dict[Any, list] = {n: [] for n in preds}
    for n, ps in preds.items():
        for p in ps:
            successors[p].append(n)
    done = 0
    while ready:
        n = ready.pop()
        done += 1
        for s in successors[n]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    return done == len(waiting)
