"""Graphviz pictures of a space or of a derived subnet: DOT text always, SVG/PNG via `dot`.

The picture follows the source: every scope of the hierarchical node names
(`s2.blocks[0].mbconv`) is a nested cluster, so a reader finds the stage and the
block they wrote. What the search decides is made visible: ops whose attributes
depend on choices are coloured and show the choice expression, guarded parts
(elastic depth, gates, candidates) are dashed with the guard in the tooltip,
selects and chooses are diamonds. `depth=N` folds every scope N levels down into
one box, so a large space still fits on a page. A derived subnet has no choices
and so renders plain.

Only the DOT text is built here; the python `graphviz` package is not used, and
the `dot` binary is only needed to render images (`render`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from archc.compiler.backends import dot_labels as lb
from archc.compiler.ir import IRNode, facts, nodes_in_order
from archc.kernel.files import write_atomic

Scope = tuple[str, ...]
Item = tuple[tuple[int, int], str]  # (sort key, DOT statement)

CHOICE_FILL, CHOICE_LINE = "#fde7c8", "#c26a00"
STYLE = {
    "select": {
        "shape": "diamond",
        "fillcolor": "#dbeafe",
        "fontsize": "8",
        "height": "0.3",
        "margin": "0.02,0.01",
    },
    "choose": {"shape": "diamond", "fillcolor": "#ede3f7", "margin": "0.02,0.01"},
    "input": {"shape": "invhouse", "fillcolor": "#dcfce7"},
    "output": {"shape": "house", "fillcolor": "#dcfce7"},
    "box": {"shape": "box3d", "fillcolor": "#f3f4f6"},
}
HEADER = [
    'node [shape="box", style="rounded,filled", fillcolor="white", fontname="Helvetica", '
    'fontsize="10"];',
    'edge [fontname="Helvetica", fontsize="8", color="#555555", fontcolor="#333333"];',
]
MAX_EDGE_LABELS = 3  # distinct shapes written on one deduplicated edge
CHOICES_PER_LINE = 4
RENDER_TIMEOUT_S = 120.0
FORMATS = {".dot": None, ".gv": None, ".svg": "svg", ".png": "png", ".pdf": "pdf"}


class RenderError(RuntimeError):
    """Rendering failed: no `dot` binary, or `dot` rejected the text or timed out."""


@dataclass
class _Layout:
    """Where each node is drawn: its scope, and the box it is folded into (if any)."""

    home: dict[int, Scope] = field(default_factory=dict)
    box: dict[int, Scope | None] = field(default_factory=dict)
    members: dict[Scope, list[IRNode]] = field(default_factory=lambda: defaultdict(list))
    items: dict[Scope, list[Item]] = field(default_factory=lambda: defaultdict(list))

    def rep(self, n: int) -> str:
        """The DOT id drawn for node `n`: its own, or its box's."""
        box = self.box[n]
        return f"n{n}" if box is None else _box_id(box)


def to_dot(graph: nx.MultiDiGraph, depth: int | None = None, title: str | None = None) -> str:
    """DOT text of an IR graph; `depth` folds scopes below that many levels into boxes."""
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be at least 1 (or None for every op), not {depth}")
    nodes = nodes_in_order(graph)
    layout = _place(nodes, depth)
    _add_nodes(nodes, layout)
    _add_boxes(graph, layout)
    _add_outputs(graph, layout)
    lines = [
        f"digraph {lb.quote(str(facts(graph).name))} {{",
        f"graph {lb.attr_list(_graph_attrs(graph, title))};",
        *HEADER,
    ]
    lines += _scope_lines((), layout, "")
    lines += _edge_lines(graph, layout)
    return "\n".join([*lines, "}"]) + "\n"


def _graph_attrs(graph: nx.MultiDiGraph, title: str | None) -> dict[str, str]:
    name = title if title is not None else str(facts(graph).name)
    n = len(facts(graph).choices)
    label = f"{name}\n{n} choice{'s' if n != 1 else ''}" if n else name
    return {
        "label": label,
        "labelloc": "t",
        "fontname": "Helvetica",
        "rankdir": "TB",
        "newrank": "true",
    }


# ---- placement


def _place(nodes: list[IRNode], depth: int | None) -> _Layout:
    """Scope of each node; a node named like a scope (a choose) is drawn inside it."""
    layout = _Layout()
    parents = {n.id: tuple(lb.split_name(n.name)[:-1]) for n in nodes}
    scopes = {p[:i] for p in parents.values() for i in range(1, len(p) + 1)}
    for n in nodes:
        full = tuple(lb.split_name(n.name))
        home = () if n.kind == "input" else full if full in scopes else parents[n.id]
        layout.home[n.id] = home
        for i in range(1, len(home) + 1):
            layout.members[home[:i]].append(n)
        folded = depth is not None and len(home) >= depth
        layout.box[n.id] = home[:depth] if folded else None
    return layout


def _box_id(scope: Scope) -> str:
    return lb.quote("box:" + ".".join(scope))


def _outputs(graph: nx.MultiDiGraph) -> list[tuple[str, int]]:
    """Named outputs present in the graph (a view of part of a graph may lack some)."""
    return [(k, v) for k, v in facts(graph).outputs.items() if v in graph]


def _out_id(name: str) -> str:
    return lb.quote("out:" + name)


def _add_nodes(nodes: list[IRNode], layout: _Layout) -> None:
    for n in nodes:
        if layout.box[n.id] is None:
            stmt = f"n{n.id} {lb.attr_list(_node_attrs(n))};"
            layout.items[layout.home[n.id]].append(((0, n.id), stmt))


def _add_boxes(graph: nx.MultiDiGraph, layout: _Layout) -> None:
    """One box per folded scope, filed in the cluster of the scope around it."""
    order = {c.name: i for i, c in enumerate(facts(graph).choices)}
    boxes = sorted({b for b in layout.box.values() if b is not None})
    for scope in boxes:
        members = layout.members[scope]
        stmt = f"{_box_id(scope)} {lb.attr_list(_box_attrs(scope, members, order))};"
        layout.items[scope[:-1]].append(((0, min(m.id for m in members)), stmt))


def _add_outputs(graph: nx.MultiDiGraph, layout: _Layout) -> None:
    for i, (name, nid) in enumerate(_outputs(graph)):
        node = graph.nodes[nid]["ir"]
        attrs = {"label": f"{name}\n{lb.edge_shape(node)}", "tooltip": f"output {name}"}
        stmt = f"{_out_id(name)} {lb.attr_list(attrs | STYLE['output'])};"
        layout.items[()].append(((1, i), stmt))


# ---- node attributes


def _node_attrs(n: IRNode) -> dict[str, str | None]:
    """Label, look and tooltip of one drawn node, by kind."""
    if n.kind == "input":
        attrs = {"label": f"{n.name}\n{lb.shape(n.shape)}", **STYLE["input"]}
    elif n.kind == "select":
        attrs = {"label": lb.value(n.attrs.get("cond")), **STYLE["select"]}
    elif n.kind == "choose":
        label = f"{n.attrs.get('choice')}\n{n.attrs.get('realise', '')}".rstrip()
        attrs = {"label": label, **STYLE["choose"]}
    else:
        attrs = {"label": lb.op_label(n)}
        if lb.node_choices(n):
            attrs |= {"fillcolor": CHOICE_FILL, "color": CHOICE_LINE}
    base = "rounded,filled" if n.kind == "op" else "filled"
    if n.guard is not True:
        attrs["style"] = base + ",dashed"
    elif n.kind != "op":
        attrs["style"] = base
    return attrs | {"tooltip": lb.tooltip(n)}


def _box_attrs(scope: Scope, members: list[IRNode], order: dict[str, int]) -> dict[str, str]:
    """A folded scope: its name, how many ops it holds and which choices they use."""
    used = set().union(*(lb.node_choices(m, with_guard=True) for m in members))
    names = sorted(used, key=lambda c: (order.get(c, len(order)), c))
    ops = sum(1 for m in members if m.kind == "op")
    label = [".".join(scope), f"{ops} op{'s' if ops != 1 else ''}"]
    inside = ".".join(scope) + "."  # choices made inside the box are named relative to it
    names = [name.removeprefix(inside) for name in names]
    rows = [names[i : i + CHOICES_PER_LINE] for i in range(0, len(names), CHOICES_PER_LINE)]
    label += [("choices: " if i == 0 else "") + ", ".join(r) for i, r in enumerate(rows)]
    attrs = {"label": "\n".join(label), "tooltip": _guards_text(scope, members), **STYLE["box"]}
    if names:
        attrs |= {"fillcolor": CHOICE_FILL, "color": CHOICE_LINE}
    attrs["style"] = "filled,dashed" if _all_guarded(members) else "filled"
    return attrs


def _all_guarded(members: list[IRNode]) -> bool:
    return bool(members) and all(m.guard is not True for m in members)


def _guards_text(scope: Scope, members: list[IRNode]) -> str:
    guards = sorted({lb.value(m.guard, None) for m in members if m.guard is not True})
    shown = guards[:5] + (["…"] if len(guards) > 5 else [])
    return "\n".join([".".join(scope), *(f"guard: {g}" for g in shown)])


# ---- clusters and edges


def _scope_lines(scope: Scope, layout: _Layout, indent: str) -> list[str]:
    """This scope's nodes and sub-clusters, in order of their first node id."""
    children = {
        s[: len(scope) + 1]
        for s in layout.items
        if s[: len(scope)] == scope and len(s) > len(scope)
    }
    entries: list[tuple[tuple[int, int], list[str]]] = [
        (key, [indent + stmt]) for key, stmt in layout.items.get(scope, [])
    ]
    for child in children:
        key = (0, min(m.id for m in layout.members[child]))
        entries.append((key, _cluster_lines(child, layout, indent)))
    return [line for _, block in sorted(entries) for line in block]


def _cluster_lines(scope: Scope, layout: _Layout, indent: str) -> list[str]:
    members = layout.members[scope]
    style = "rounded,dashed" if _all_guarded(members) else "rounded"
    attrs = {
        "label": scope[-1],
        "tooltip": _guards_text(scope, members),
        "style": style,
        "color": "#9ca3af",
        "fontname": "Helvetica",
        "fontsize": "10",
    }
    head = f"{indent}subgraph {lb.quote('cluster_' + '.'.join(scope))} {{"
    body = [f"{indent}  graph {lb.attr_list(attrs)};"]
    return [head, *body, *_scope_lines(scope, layout, indent + "  "), f"{indent}}}"]


def _edge_lines(graph: nx.MultiDiGraph, layout: _Layout) -> list[str]:
    """Producer -> consumer edges between drawn nodes, one per pair, with shapes."""
    labels: dict[tuple[str, str], list[str]] = {}
    guarded: dict[tuple[str, str], bool] = {}
    for u, v, port in sorted(graph.edges(keys=True)):
        pair = (layout.rep(u), layout.rep(v))
        if pair[0] == pair[1]:
            continue
        producer = graph.nodes[u]["ir"]
        text = _edge_label(producer, graph.nodes[v]["ir"], port)
        if text not in labels.setdefault(pair, []):
            labels[pair].append(text)
        guarded[pair] = guarded.get(pair, True) and producer.guard is not True
    for name, nid in _outputs(graph):
        pair = (layout.rep(nid), _out_id(name))
        labels[pair], guarded[pair] = [], False
    return [_edge_stmt(pair, texts, guarded[pair]) for pair, texts in labels.items()]


def _edge_label(producer: IRNode, consumer: IRNode, port: int) -> str:
    shape = lb.edge_shape(producer)
    if consumer.kind == "choose":
        cands = consumer.attrs.get("labels", ())
        if isinstance(cands, tuple) and port < len(cands):
            return f"{lb.value(cands[port])}\n{shape}"
    if consumer.kind == "select":
        return f"{'then' if port == 0 else 'else'}\n{shape}"
    return shape


def _edge_stmt(pair: tuple[str, str], texts: list[str], dashed: bool) -> str:
    shown = texts[:MAX_EDGE_LABELS] + (["…"] if len(texts) > MAX_EDGE_LABELS else [])
    attrs = {"label": "\n".join(shown) if shown else None, "style": "dashed" if dashed else None}
    return " ".join(filter(None, [pair[0], "->", pair[1], lb.attr_list(attrs)])) + ";"


# ---- rendering


def render(
    dot_text: str, out_path: str | os.PathLike[str], timeout: float = RENDER_TIMEOUT_S
) -> Path:
    """Write DOT text to `.dot`/`.gv`, or render `.svg`/`.png`/`.pdf` with `dot -T...`.

    The file appears complete or not at all (temporary file + rename), so a failed
    or interrupted render never leaves a truncated picture that looks valid.
    """
    path = Path(out_path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"cannot render to {path.name}: use one of {', '.join(FORMATS)}")
    fmt = FORMATS[path.suffix.lower()]
    data = dot_text.encode("utf-8") if fmt is None else _run_dot(dot_text, fmt, timeout)
    write_atomic(path, data)
    return path


def svg_text(dot_text: str, timeout: float = RENDER_TIMEOUT_S) -> str:
    """DOT text rendered to SVG text in memory (for pages that inline their pictures)."""
    return _run_dot(dot_text, "svg", timeout).decode("utf-8")


def _run_dot(dot_text: str, fmt: str, timeout: float) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(
            f"cannot render {fmt}: the graphviz `dot` program is not installed "
            "(install graphviz, e.g. `apt-get install graphviz` or "
            "`brew install graphviz`), or write a .dot file instead"
        )
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"`dot -T{fmt}` took longer than {timeout:g}s; try a smaller depth"
        ) from None
    except OSError as err:
        raise RenderError(f"cannot run `{exe}`: {err}") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"`dot -T{fmt}` failed (exit {proc.returncode}): {detail}")
    return proc.stdout
