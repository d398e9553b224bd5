"""Values of the compile-time evaluator.

Concrete values are plain Python: int, float, bool, str, None and tuples (the
language's lists). Everything else is one of the frozen records below:

- `Tensor`: a feature map, i.e. the output of a node in the elaborated graph;
- `Sym` (in `archc.kernel.symbolic`): a value that depends on choices or on
  tensor shapes the front end cannot know;
- callables: `BlockFn`, `OpFn`, `BuiltinFn`, `Template` (a stage waiting for its
  input, e.g. a `oneof` candidate), `OpChoice` (a choice between callables);
- `Namespace`: an imported module under an alias;
- `Poison`: the result of an expression that already produced a diagnostic;
  it absorbs every operation, so one mistake is reported once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archc.dsl import ast
from archc.kernel.diagnostics import shown_number


@dataclass(frozen=True)
class Tensor:
    node: int

    def __repr__(self) -> str:
        return f"<tensor %{self.node}>"


@dataclass(frozen=True)
class BlockFn:
    decl: ast.BlockDecl
    module: str  # path of the defining module, whose globals the body sees


@dataclass(frozen=True)
class OpFn:
    decl: ast.OpDecl


@dataclass(frozen=True)
class BuiltinFn:
    name: str
    fn: Callable[..., Any]
    doc: str


@dataclass(frozen=True)
class Template:
    """A pipe stage (or chain of stages) not yet applied: `conv(16, k=3) -> bn()`."""

    stages: tuple[ast.Expr, ...]
    env: Any  # archc.dsl.expressions.Env; kept untyped to avoid an import cycle
    name: str  # the label it gets in a `oneof` (callee name unless labelled)


@dataclass(frozen=True)
class OpChoice:
    """A `oneof`: one decision between callables; applying it makes a `choose` node."""

    choice: str  # hierarchical choice name
    candidates: tuple[tuple[str, Any], ...]  # (label, callable)


@dataclass(frozen=True)
class Family:
    """Values bound under one name, one per index: `input image[t]`, `let h[t] = ...`."""

    name: str
    members: Mapping[str, Any]  # index as written in names ("1", "a") -> value

    def with_member(self, key: str, value: Any) -> Family:
        return Family(self.name, {**self.members, key: value})


@dataclass(frozen=True)
class Namespace:
    name: str
    members: Mapping[str, Any]


@dataclass(frozen=True)
class Poison:
    def __repr__(self) -> str:
        return "<error>"


POISON = Poison()

CALLABLE_TYPES = (BlockFn, OpFn, BuiltinFn, Template, OpChoice)


def is_callable(value: object) -> bool:
    return isinstance(value, CALLABLE_TYPES)


def callable_name(value: object) -> str:
    if isinstance(value, (BlockFn, OpFn)):
        return value.decl.name
    if isinstance(value, (BuiltinFn, Template)):
        return value.name
    if isinstance(value, OpChoice):
        return value.choice
    return type(value).__name__


def describe(value: object) -> str:
    """A short user-facing description: `int 3`, `tensor`, `choice s2.k`."""
    from archc.kernel.symbolic import Sym  # local: symbolic imports this module

    if isinstance(value, bool):
        return f"bool {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {shown_number(value)}"
    if isinstance(value, str):
        return f'str "{value}"'
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return f"list of {len(value)}"
    if isinstance(value, Tensor):
        return "tensor"
    if isinstance(value, Sym):
        return f"{value.type} depending on choices ({value})"
    if isinstance(value, BlockFn):
        return f"block `{value.decl.name}`"
    if isinstance(value, OpFn):
        return f"op `{value.decl.name}`"
    if isinstance(value, (BuiltinFn, Template, OpChoice)):
        return f"callable `{callable_name(value)}`"
    if isinstance(value, Namespace):
        return f"module `{value.name}`"
    if isinstance(value, Family):
        return f"the family `{value.name}[...]` (index it)"
    return type(value).__name__
