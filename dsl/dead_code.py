"""Warnings for values that never reach an output.

The compiler drops every node that no output depends on, so a forgotten layer
(`let extra = x -> conv(64)` and then `output o = x`) silently disappears from
the params and MACs. Each `let` and `input` written in a `space` or `net` body
(inside its scopes and loops too) whose tensors all end up unused gets a
warning at that statement, with its name. Values computed inside a block are
not warned about, nor is a value passed to a block: whether a block uses all it
is given, or its caller all it returns, is their design (a fabric cell at scale
0 reads the features of scales 0 and 1 of the list it is passed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from archc.dsl.program import GraphNode
from archc.dsl.values import Tensor
from archc.kernel.diagnostics import Diagnostic, Severity
from archc.kernel.span import Span


def live_nodes(nodes: Iterable[GraphNode], outputs: Iterable[int]) -> set[int]:
    """Ids of the nodes some output depends on."""
    inputs = {n.id: n.inputs for n in nodes}
    live: set[int] = set()
    todo = list(outputs)
    while todo:
        node = todo.pop()
        if node not in live:
            live.add(node)
            todo.extend(inputs.get(node, ()))
    return live


def unused_warnings(
    bindings: Iterable[tuple[str, Span, Any]], nodes: Iterable[GraphNode], outputs: Iterable[int]
) -> list[Diagnostic]:
    """One warning per binding statement none of whose tensors (in any iteration of a
    loop around it) reaches an output."""
    live = live_nodes(nodes, outputs)
    dead: dict[Span, str] = {}
    used: set[Span] = set()
    for name, span, value in bindings:
        tensors = list(_tensors(value))
        if not tensors:
            continue
        if any(t.node in live for t in tensors):
            used.add(span)
        else:
            dead.setdefault(span, name)
    return [
        Diagnostic(
            "W001",
            f"`{name}` is computed but never reaches an output",
            span,
            Severity.WARNING,
            hint="it is left out of the network (and of its params and MACs): use it in "
            "an output, or delete it",
        )
        for span, name in dead.items()
        if span not in used
    ]


def unused_inputs(
    inputs: Iterable[tuple[str, Span, Any]], nodes: Iterable[GraphNode], outputs: Iterable[int]
) -> list[Diagnostic]:
    """An input that no output reads: usually a fusion or a branch that was forgotten."""
    live = live_nodes(nodes, outputs)
    return [
        Diagnostic(
            "W002",
            f"input `{name}` never reaches an output",
            span,
            Severity.WARNING,
            hint="it stays an input of the network that nothing reads: use it, or delete it",
        )
        for name, span, tensor in inputs
        if tensor.node not in live
    ]


def _tensors(value: Any):
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _tensors(item)
