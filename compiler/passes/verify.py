"""The IR verifier: invariants every pass must keep, with messages saying how to fix them.

Run after lowering and (in tests) after every pass. It checks the graph, not
the user's program: a failure here is a bug in archc, reported as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archc.compiler.ir import IRNode, facts
from archc.compiler.ir_graph import is_acyclic
from archc.compiler.ops import get
from archc.kernel.symbolic import deps_of

if TYPE_CHECKING:
    import networkx as nx

KINDS = ("input", "op", "select", "choose")


class VerifyError(AssertionError):
    """An IR invariant does not hold (an internal error, never a user mistake)."""


def verify(graph: nx.MultiDiGraph) -> None:
    problems = [p for n in sorted(graph.nodes) for p in _node_problems(graph, n)]
    problems += _graph_problems(graph)
    if problems:
        raise VerifyError("IR verification failed:\n  " + "\n  ".join(problems))


def _node_problems(graph: nx.MultiDiGraph, n: int) -> list[str]:
    if "ir" not in graph.nodes[n]:
        return [f"node {n} has no `ir` record: add nodes with graph.add_node(id, ir=IRNode(...))"]
    node: IRNode = graph.nodes[n]["ir"]
    out = []
    if node.id != n:
        out.append(f"node {n} carries the record of node {node.id}")
    if node.kind not in KINDS:
        out.append(f"`{node.name}` has unknown kind {node.kind!r}; kinds are {KINDS}")
    ports = sorted(k for _, _, k in graph.in_edges(n, keys=True))
    if ports != list(range(len(ports))):
        out.append(f"`{node.name}` has input ports {ports}; they must be 0..n-1")
    if node.kind == "op":
        try:
            get(node.op)
        except KeyError as err:
            out.append(str(err))
    if node.kind == "select" and len(ports) != 2:
        out.append(f"select `{node.name}` has {len(ports)} inputs; it needs 2")
    if node.kind == "choose" and len(ports) != len(node.attrs.get("labels", ())):
        out.append(
            f"choose `{node.name}` has {len(ports)} inputs for "
            f"{len(node.attrs.get('labels', ()))} labels"
        )
    if len(node.shape) != 3:
        out.append(f"`{node.name}` has shape {node.shape}; shapes are [C, H, W]")
    return out


def _graph_problems(graph: nx.MultiDiGraph) -> list[str]:
    out = []
    if not is_acyclic(graph):
        out.append("the graph has a cycle")
    known = {c.name for c in facts(graph).choices}
    for n in graph.nodes:
        node = graph.nodes[n].get("ir")
        if node is None:
            continue
        used = deps_of(node.guard) | deps_of(tuple(node.attrs.values())) | deps_of(node.shape)
        if not used <= known:
            out.append(f"`{node.name}` refers to unknown choices {sorted(used - known)}")
        if node.kind == "choose" and node.attrs.get("choice") not in known:
            out.append(f"choose `{node.name}` refers to unknown choice {node.attrs.get('choice')}")
    for name, n in facts(graph).outputs.items():
        if n not in graph:
            out.append(f"output `{name}` refers to missing node {n}")
    return out
