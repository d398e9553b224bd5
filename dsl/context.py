"""Mutable state of one elaboration: the graph being built, names, guards, choices.

Elaboration of a `space` walks its statements once; every op application adds a
node here. The context owns the naming rules, so names are the same on every
run of the same file:

- a node or block instance is named by its `as` label, else by its callee's
  name, numbered within its scope (`conv`, `conv_1`, ...);
- `scope s2 { }`, a block instance and a `repeat` iteration (`label[i]`) each add
  one segment to the names of everything created inside;
- a choice is named by its `as` label, else the `let` it is bound to, else the
  parameter it is passed to, else `choice`/`oneof` numbered within its scope.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from archc.dsl.program import CheckSpec, GraphNode
from archc.dsl.values import Tensor
from archc.kernel.diagnostics import MAX_HINTED, ArchError, Diagnostic, fail
from archc.kernel.span import Span
from archc.kernel.specs import ChoiceSpec, ConstraintSpec
from archc.kernel.symbolic import apply

_AUTO = Span.point("<auto>", 0, 0)  # where an automatic label was taken: nowhere
MAX_DEPTH = 48
MAX_NODES = 100_000  # per space: far above real networks; stops runaway loops early
MAX_CHOICES = 10_000
MAX_WORK = 30_000  # block instances + iterations per space; the largest example needs 3,283


class Context:
    def __init__(self, space_name: str, is_net: bool):
        self.space_name = space_name
        self.is_net = is_net
        self.nodes: list[GraphNode] = []
        self.choices: dict[str, ChoiceSpec] = {}
        self.checks: list[CheckSpec] = []
        self.constraints: list[ConstraintSpec] = []
        self.inputs: list[tuple[str, int]] = []
        self.outputs: list[tuple[str, int]] = []
        self.diagnostics: list[Diagnostic] = []
        self.scope: list[str] = []
        self.weight_scope: list[str] = []  # differs from `scope` under `shares weights with`
        self.guard: Any = True
        self.trace: list[Span] = []
        self._counters: dict[tuple[str, ...], Counter[str]] = {}
        self._labels: dict[tuple[str, ...], dict[str, Span]] = {}
        self._reported: set[tuple] = set()
        self.work = 0
        # what a space's own `let`s and `input`s bound: (name, span, value), for the
        # unused-value warnings (archc.dsl.dead_code)
        self.bindings: list[tuple[str, Span, Any]] = []
        self.inputs_declared: list[tuple[str, Span, Any]] = []
        self.passed_to_blocks: set[int] = set()  # whether a block uses them is its design

    # ---- diagnostics
    def report(self, err: ArchError) -> None:
        for d in err.diagnostics:
            key = (d.code, d.message, d.span)
            if key not in self._reported:
                self._reported.add(key)
                self.diagnostics.append(d)

    def wants_hints(self) -> bool:
        """Did-you-mean hints scan every visible name: give them to the first few only."""
        return len(self.diagnostics) < MAX_HINTED

    def charge(self, span: Span) -> None:
        """One unit of elaboration work (a block instance, a loop or `repeat` iteration,
        a list item): a recursion that adds no nodes, or nested loops, end here quickly."""
        self.work += 1
        if self.work > MAX_WORK:
            raise fail(
                "E307",
                f"`{self.space_name}` takes more than {MAX_WORK:,} steps to elaborate "
                "(block instances and loop iterations)",
                span,
                hint="is a block calling itself, or a loop much larger than intended?",
            )

    def project(self, per_item: int, items: int, span: Span) -> None:
        """Fail before unrolling when `items` more iterations of `per_item` nodes each
        would pass the node limit (three nested `repeat(1000)`s fail in milliseconds)."""
        if per_item and len(self.nodes) + per_item * items > MAX_NODES:
            raise fail(
                "E305",
                f"`{self.space_name}` would have more than {MAX_NODES} nodes "
                f"({items + 1} iterations of {per_item} nodes here); is a loop or repeat "
                "count much larger than intended?",
                span,
            )

    # ---- naming
    def path(self, label: str) -> str:
        return ".".join([*self.scope, label])

    def weight_path(self, label: str) -> str:
        return ".".join([*self.weight_scope, label])

    def auto_label(self, base: str) -> str:
        """`base`, then `base_1`, `base_2`, ... within the current scope."""
        key = tuple(self.scope)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = Counter()
        taken = self._labels.get(key)
        if taken is None:
            taken = self._labels[key] = {}
        while True:
            n = counter[base]
            counter[base] += 1
            label = base if n == 0 else f"{base}_{n}"
            if label not in taken:
                taken[label] = _AUTO
                return label

    def claim_label(self, label: str, span: Span) -> str:
        """Reserve an explicit `as` label; it must be unique in its scope."""
        taken = self._labels.setdefault(tuple(self.scope), {})
        if label in taken:
            first = taken[label]
            err = fail(
                "E301",
                f"name `{self.path(label)}` is already used in this scope",
                span,
                hint="give this one a different `as` label",
            )
            if first.line > 0:
                err = ArchError([err.diagnostics[0].with_note("first used here", first)])
            raise err
        taken[label] = span
        return label

    def has_label(self, label: str) -> bool:
        """Whether `label` names something already created in the current scope."""
        return label in self._labels.get(tuple(self.scope), {})

    @contextlib.contextmanager
    def enter(
        self, segment: str, span: Span, shares: str | None = None, call: bool = False
    ) -> Iterator[None]:
        """Open a naming scope (a `scope`, block instance or repeat iteration).

        `call` marks a block instantiation, whose call site joins the trace that
        diagnostics and IR nodes carry.
        """
        if len(self.scope) >= MAX_DEPTH:
            raise fail(
                "E302",
                f"scopes nested more than {MAX_DEPTH} deep; is a block calling itself?",
                span,
            )
        saved_weights = list(self.weight_scope)
        self.scope.append(segment)
        self.weight_scope = shares.split(".") if shares else [*self.weight_scope, segment]
        if call:
            self.trace.append(span)
        try:
            yield
        finally:
            self.scope.pop()
            self.weight_scope = saved_weights
            if call:
                self.trace.pop()

    @contextlib.contextmanager
    def guarded(self, cond: Any) -> Iterator[None]:
        """Everything created inside exists only when `cond` holds."""
        saved = self.guard
        self.guard = cond if saved is True else apply("and", saved, cond)
        try:
            yield
        finally:
            self.guard = saved

    # ---- graph
    def add_node(
        self,
        kind: str,
        op: str | None,
        label: str,
        attrs: dict[str, Any],
        inputs: tuple[int, ...],
        span: Span,
        requires: tuple[tuple[Any, str], ...] = (),
    ) -> Tensor:
        if len(self.nodes) >= MAX_NODES:
            raise fail(
                "E305",
                f"`{self.space_name}` has more than {MAX_NODES} nodes; is a "
                "loop or repeat count much larger than intended?",
                span,
            )
        node = GraphNode(
            id=len(self.nodes),
            kind=kind,
            op=op,
            name=self.path(label),
            weight_name=self.weight_path(label),
            attrs=attrs,
            inputs=inputs,
            guard=self.guard,
            span=span,
            trace=tuple(self.trace),
            requires=requires,
        )
        self.nodes.append(node)
        return Tensor(node.id)

    def add_choice(self, spec: ChoiceSpec) -> None:
        if spec.name in self.choices:
            first = self.choices[spec.name].span
            raise ArchError(
                [
                    Diagnostic(
                        "E303",
                        f"two choices are named `{spec.name}`",
                        spec.span,
                        hint="label one of them: `choice(...) as other_name`",
                    ).with_note("the first one is here", first)
                ]
            )
        if len(self.choices) >= MAX_CHOICES:
            raise fail(
                "E305",
                f"`{self.space_name}` has more than {MAX_CHOICES} choices; is a "
                "loop much larger than intended?",
                spec.span,
            )
        if self.is_net:
            raise fail(
                "E304",
                f"`net {self.space_name}` is a fixed network, but this is a choice",
                spec.span,
                hint=f"declare it as `space {self.space_name}` to search over it",
            )
        self.choices[spec.name] = spec
