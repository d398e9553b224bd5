"""What elaboration produces: the unrolled graph of one `space`/`net` and its choices.

This is the front end's output and the compiler's input. It is plain data:
the compiler lowers it to a networkx IR, infers shapes and costs; nothing here
knows about shapes or torch.

Node kinds:
- `input`: a network input; attrs `shape` (C, H, W).
- `op`: a primitive op (declared in the prelude); attrs are its non-tensor
  arguments, each concrete or a `Sym`; inputs are its tensor arguments in
  declaration order (a `list[tensor]` parameter contributes all its items).
- `select`: `inputs[0]` if attrs `cond` holds else `inputs[1]`; made by a
  conditional on a choice and by every optional iteration of an elastic
  `repeat` (cond `depth > i`, else the iteration's input: the block is bypassed).
- `choose`: the candidate `inputs[k]` whose label `attrs["labels"][k]` equals
  the value of choice `attrs["choice"]`; made by `oneof` and by choices over
  tensors. Under a weighted/gumbel realisation the backend mixes all candidates.

Every node has a `guard`: the condition on choices under which it exists in a
derived subnet (`True` when always).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archc.kernel.span import Span
from archc.kernel.specs import ChoiceSpec, ConstraintSpec


@dataclass(frozen=True)
class GraphNode:
    id: int
    kind: str  # input, op, select or choose
    op: str | None
    name: str  # hierarchical, unique within the graph
    weight_name: str  # where its parameters live; differs under `shares weights with`
    attrs: Mapping[str, Any]
    inputs: tuple[int, ...]
    guard: Any  # True or a bool Sym
    span: Span
    trace: tuple[Span, ...] = ()  # call sites of the enclosing block instances, outermost first
    # (condition, message): argument bounds the front end could not decide (they depend
    # on shapes, or on too many choices); lowering checks them before the shape rule
    requires: tuple[tuple[Any, str], ...] = ()


@dataclass(frozen=True)
class CheckSpec:
    """An `assert` whose condition depends on choices or shapes; checked per config."""

    cond: Any
    message: str
    span: Span
    trace: tuple[Span, ...] = ()  # call sites of the blocks the assert is inside


@dataclass(frozen=True)
class Elaborated:
    """One elaborated `space` or `net`."""

    name: str
    is_net: bool
    doc: str | None
    nodes: tuple[GraphNode, ...]
    choices: tuple[ChoiceSpec, ...]
    inputs: tuple[tuple[str, int], ...]  # (name, node id)
    outputs: tuple[tuple[str, int], ...]
    constraints: tuple[ConstraintSpec, ...]
    checks: tuple[CheckSpec, ...]
    span: Span

    def choice(self, name: str) -> ChoiceSpec:
        for c in self.choices:
            if c.name == name:
                return c
        raise KeyError(name)
