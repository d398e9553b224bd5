"""Lowering: an elaborated space (`archc.dsl.program.Elaborated`) -> the IR graph.

One pass in node order (the elaborator creates producers before consumers):

1. resolve `x.channels`-style dimensions (`Dim`) in attributes, guards and
   conditions to the producer's symbolic shape, folding what becomes constant;
2. run the op's shape rule on the input shapes and check its requirements:
   false now, or false for some config, is a located error naming the shapes;
3. a `select` whose condition is decided is replaced by the input it takes,
   and a node whose guard is false is dropped, so a fixed net lowers to a
   plain graph; a bypassed `repeat` iteration must keep the shape.

Dead nodes are removed by `compiler.passes.eliminate_dead_nodes` afterwards.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from archc.compiler.decide import Decider, describe_config
from archc.compiler.ir import IRNode, SpaceFacts
from archc.compiler.ir_graph import IRGraph
from archc.compiler.ops import Rules, get
from archc.dsl.program import Elaborated, GraphNode
from archc.kernel.diagnostics import ArchError, Diagnostic
from archc.kernel.symbolic import Apply, ChoiceRef, Comprehension, Dim, apply, comprehension

if TYPE_CHECKING:
    import networkx as nx


class _Dropped(Exception):
    """Raised while resolving a dimension of a node that was dropped."""


class Lowering:
    """One lowering of one `Elaborated` space into an `IRGraph`; `run()` does it once.

    State, filled in node order: `shapes` (node id -> symbolic shape, for the nodes
    kept), `alias` (a decided `select` -> the input it takes; `target` follows it),
    `diagnostics` (the first located error stops the walk), `checks` (requirements that
    hold for some configs only, kept in the graph) and `graph`, the result. `decider`
    answers questions over the choices; `resolve` replaces `Dim`s by the shapes found
    so far. Use `lower_ir(elab)` rather than this class.
    """

    def __init__(self, elab: Elaborated):
        self.elab = elab
        self.choices = {c.name: c for c in elab.choices}
        self.decider = Decider(self.choices)
        self._resolved: dict[int, tuple[Any, Any]] = {}
        self.shapes: dict[int, tuple] = {}
        self.alias: dict[int, int] = {}  # decided select -> the input it takes
        self.diagnostics: list[Diagnostic] = []
        self.checks: list[tuple[Any, str, Any]] = []
        self.graph = IRGraph()

    def run(self) -> IRGraph:
        for node in self.elab.nodes:
            try:
                self._lower(node)
            except ArchError as err:
                self.diagnostics.extend(err.diagnostics)
                return self.graph
        try:
            self._set_graph_attrs()
        except ArchError as err:
            self.diagnostics.extend(err.diagnostics)
        return self.graph

    # ---- symbolic values
    def target(self, n: int) -> int:
        while n in self.alias:
            n = self.alias[n]
        return n

    def resolve(self, value: Any) -> Any:
        """Replace tensor dimensions by the producers' shapes, folding constants.

        Kept per value object: a shape, once set, never changes, and the guard of a
        block instance is one object shared by all its nodes, so resolving it once
        also lets the decider answer for all of them at once."""
        if not isinstance(value, (tuple, Dim, Apply, Comprehension)):
            return value
        kept = self._resolved.get(id(value))
        if kept is None:
            kept = self._resolved[id(value)] = (value, self._resolve(value))
        return kept[1]

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, Dim):
            shape = self.shapes.get(self.target(value.node))
            if shape is None:
                raise _Dropped  # refers to a node that exists in no config
            return shape[value.axis]
        if isinstance(value, Apply):
            return apply(value.fn, *(self.resolve(a) for a in value.args))
        if isinstance(value, Comprehension):
            where = tuple((k, self.resolve(v)) for k, v in value.where)
            items, iterable = self.resolve(value.items), self.resolve(value.iterable)
            return comprehension(value.names, iterable, items, value.source, where)
        return value

    def decide(self, cond: Any) -> Any:
        return self.decider.decide(self.resolve(cond))

    # ---- nodes
    def _lower(self, node: GraphNode) -> None:
        with contextlib.suppress(_Dropped):  # needs a node that exists in no config
            self._lower_node(node)

    def _lower_node(self, node: GraphNode) -> None:
        guard = self.decide(node.guard)
        if guard is False:
            return
        inputs = [self.target(i) for i in node.inputs]
        if node.kind == "select":
            self._select(node, inputs)
            return
        if any(i not in self.shapes for i in inputs):
            return  # fed by a node that exists in no config: so does this one
        attrs = {k: self.decider.simplify(self.resolve(v)) for k, v in node.attrs.items()}
        for cond, message in node.requires:  # argument bounds (dsl/bounds.py), before shapes
            self._require(self.resolve(cond), message, node, inputs)
        shape = self._shape(node, attrs, inputs)
        self._add(node, attrs, guard, inputs, shape)

    def _shape(self, node: GraphNode, attrs: dict, inputs: list[int]) -> tuple:
        if node.kind == "input":
            return tuple(attrs["shape"])
        if node.kind == "choose":
            return self._choose_shape(node, attrs, inputs)
        rules = Rules(attrs, [self.shapes[i] for i in inputs])
        shape = get(node.op).shape(rules)
        for req in rules.requirements:
            self._require(req.cond, req.message, node, inputs)
        return shape

    def _choose_shape(self, node: GraphNode, attrs: dict, inputs: list[int]) -> tuple:
        choice = ChoiceRef(attrs["choice"], "str")
        shape = self.shapes[inputs[-1]]
        for label, i in reversed(list(zip(attrs["labels"][:-1], inputs[:-1], strict=True))):
            shape = tuple(
                apply("if", apply("eq", choice, label), a, b)
                for a, b in zip(self.shapes[i], shape, strict=True)
            )
        return shape

    def _select(self, node: GraphNode, inputs: list[int]) -> None:
        then, orelse = inputs
        alive = [i for i in inputs if i in self.shapes]
        if len(alive) < 2:  # an alternative that exists in no config is never taken
            if alive:
                self.alias[node.id] = alive[0]
            return
        cond = self.decide(node.attrs["cond"])
        if cond is True or cond is False:
            self.alias[node.id] = then if cond else orelse
            return
        same = [
            apply("eq", a, b) for a, b in zip(self.shapes[then], self.shapes[orelse], strict=True)
        ]
        message = (
            self._bypass_message(node, then, orelse)
            if "bypass" in node.attrs
            else f"the two alternatives have different shapes: {self._fmt(then)} and "
            f"{self._fmt(orelse)}"
        )
        self._require(
            apply("and", apply("and", same[0], same[1]), same[2]),
            message,
            node,
            [then, orelse],
            implied=cond if "bypass" in node.attrs else True,
        )
        shape = tuple(
            apply("if", cond, a, b)
            for a, b in zip(self.shapes[then], self.shapes[orelse], strict=True)
        )
        self._add(
            node,
            {"cond": cond, **{k: v for k, v in node.attrs.items() if k != "cond"}},
            self.decide(node.guard),
            [then, orelse],
            shape,
        )

    def _bypass_message(self, node: GraphNode, then: int, orelse: int) -> str:
        return (
            f"block `{node.attrs['bypass']}` is skipped when the depth is smaller, but it "
            f"changes the shape from {self._fmt(orelse)} to {self._fmt(then)}; "
            "iterations after the minimum depth must keep the shape"
        )

    def _fmt(self, n: int) -> str:
        return "[" + ", ".join(str(d) for d in self.shapes[n]) + "]"

    def _require(
        self, cond: Any, message: str, node: GraphNode, inputs: list[int], implied: Any = True
    ) -> None:
        """A requirement false now or for some config is an error; else kept as a check."""
        full = cond if implied is True else apply("or", apply("not", implied), cond)
        found = self.decider.counterexample(self.decider.decide(full))
        if found is None:
            return
        if found is False:
            self.checks.append((full, message, node.span))
            return
        when = f" when {describe_config(found)}" if found else ""
        raise ArchError([self._located(f"{message}{when}", node, inputs)])

    def _located(self, message: str, node: GraphNode, inputs: list[int]) -> Diagnostic:
        d = Diagnostic("E401", message, node.span)
        for i in dict.fromkeys(inputs):
            src = self.graph.nodes[i]["ir"] if i in self.graph else None
            if src is not None and src.span != node.span:
                d = d.with_note(f"input {self._fmt(i)} comes from `{src.name}`", src.span)
        if node.trace:
            d = d.with_note("in the block instantiated here", node.trace[-1])
        return d

    def _add(
        self, node: GraphNode, attrs: dict, guard: Any, inputs: list[int], shape: tuple
    ) -> None:
        shape = tuple(self.decider.simplify(d) for d in shape)
        self.shapes[node.id] = shape
        max_shape = tuple(self.decider.upper_bound(d)[0] for d in shape)
        ir = IRNode(
            id=node.id,
            kind=node.kind,
            op=node.op,
            name=node.name,
            weight_name=node.weight_name,
            attrs=attrs,
            guard=guard,
            shape=shape,
            max_shape=max_shape,
            span=node.span,
            trace=node.trace,
        )
        self.graph.add_node(node.id, ir=ir)
        for port, src in enumerate(inputs):
            self.graph.add_edge(src, node.id, key=port, port=port)

    def _set_graph_attrs(self) -> None:
        e = self.elab
        outputs = {name: self.target(n) for name, n in e.outputs}
        self.graph.graph["facts"] = SpaceFacts(
            name=e.name,
            is_net=e.is_net,
            doc=e.doc,
            choices=tuple(e.choices),
            inputs=dict(e.inputs),
            outputs=outputs,
            constraints=tuple(e.constraints),
            checks=tuple(self.checks) + tuple(self._asserts()),
        )

    def _asserts(self):
        """The asserts that waited for shapes (`x.channels % parts == 0`): now that the
        shapes are known, one false for every config, or for some, is an error (E264,
        as for the asserts decided during elaboration); one that holds for some configs
        only stays a per-config check."""
        for c in self.elab.checks:
            try:
                cond = self.resolve(c.cond)
            except _Dropped:  # reads a value that no config computes
                continue
            found = self.decider.counterexample(self.decider.decide(cond))
            if found is False:
                yield (cond, c.message, c.span)
            elif found is not None:
                when = f" when {describe_config(found)}" if found else ""
                d = Diagnostic("E264", f"assertion failed{when}: {c.message}", c.span)
                if c.trace:
                    d = d.with_note("in the block instantiated here", c.trace[-1])
                raise ArchError([d])


def lower_ir(elab: Elaborated) -> tuple[IRGraph, list[Diagnostic]]:
    """Lower one elaborated space; returns the IR (without networkx) and the diagnostics."""
    lowering = Lowering(elab)
    graph = lowering.run()
    return graph, lowering.diagnostics


def lower(elab: Elaborated) -> tuple[nx.MultiDiGraph, list[Diagnostic]]:
    """Lower one elaborated space; returns the IR and the diagnostics found."""
    graph, diagnostics = lower_ir(elab)
    return graph.to_networkx(), diagnostics
