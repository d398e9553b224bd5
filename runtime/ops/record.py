"""One record per primitive op on the torch side, registered once by its family module.

A record says everything the torch backend needs of an op, so that neither
`build_module` nor the supernet keeps a table or an if-chain of op names:

- `plain(attrs, input_shapes)`: the plain module of a node without choices (what a
  derived subnet and a fixed net are made of; parameter-free ops are small modules
  too, so every IR node maps to one module and forward hooks see every op);
- for ops with weights only:
  - `max_sizes(largest)`: the largest sizes the supernet allocates, read from a
    `Largest` (the node's symbolic attributes and shapes and `bound`, the largest value
    of an expression over every config, which the backend supplies: the compiler's
    `upper_bound` stays out of this package);
  - `elastic(sizes)`: the elastic module at those sizes;
  - `call(module, attrs, xs)`: how the supernet calls it with the active node's sizes;
  - `export(elastic, plain)`: copy the active slice into the plain module (by default
    the elastic module's own `export`).

The op rules (`archc.compiler.ops`), the ONNX emitters and these records cover the same
ops (`tests/runtime/ops/test_records.py`); `get` of an unknown op fails with the nearest
names, never falls back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archc.kernel.registry import Registry

Attrs = Mapping[str, Any]
Shape = tuple[int, int, int]  # (channels, height, width)
Plain = Callable[[Attrs, list[Shape]], nn.Module]


@dataclass(frozen=True)
class Largest:
    """What `max_sizes` reads of a node with weights in a supernet: its symbolic
    attributes, its (first) input's and its own symbolic and largest shapes, and `bound`,
    the largest value an expression of the choices takes over every config."""

    attrs: Attrs
    x: tuple  # input shape, ints or Syms
    x_max: Shape
    out: tuple  # the node's shape, ints or Syms
    out_max: Shape
    bound: Callable[[Any], Any]

    def top(self, name: str, default: Any = None) -> Any:
        """The largest value of attribute `name` (`default` for an op without it)."""
        return self.bound(self.attrs[name]) if name in self.attrs else default


def _export(elastic: nn.Module, plain: nn.Module) -> None:
    elastic.export(plain)


@dataclass(frozen=True)
class OpRecord:
    name: str
    plain: Plain
    elastic: Callable[[dict[str, Any]], nn.Module] | None = None  # None: no weights
    max_sizes: Callable[[Largest], dict[str, Any]] | None = None
    call: Callable[[nn.Module, Attrs, list[torch.Tensor]], torch.Tensor] | None = None
    export: Callable[[nn.Module, nn.Module], None] = _export

    def __post_init__(self) -> None:
        given = (self.elastic is not None, self.max_sizes is not None, self.call is not None)
        if any(given) and not all(given):
            raise ValueError(f"op `{self.name}`: an elastic op needs elastic, max_sizes and call")

    @property
    def weighted(self) -> bool:
        """Whether the op holds weights (the supernet allocates an elastic module)."""
        return self.elastic is not None

    def make_elastic(self, largest: Largest) -> nn.Module:
        """The elastic module at the largest sizes of `largest`."""
        if self.elastic is None or self.max_sizes is None:
            raise ValueError(f"op `{self.name}` holds no weights: it has no elastic module")
        return self.elastic(self.max_sizes(largest))


def call_x(module: nn.Module, attrs: Attrs, xs: list[torch.Tensor]) -> torch.Tensor:
    """The call of an elastic module that reads every size from its input."""
    return module(xs[0])


class Lambda(nn.Module):
    """A parameter-free op with a readable name in `print(module)`."""

    def __init__(self, name: str, fn: Callable[..., torch.Tensor]):
        super().__init__()
        self.name = name
        self.fn = fn

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(*xs)

    def extra_repr(self) -> str:
        return self.name


_FAMILIES = ("activation", "combine", "conv", "norm", "pool", "regularise", "shape", "transformer")
TORCH_RECORDS: Registry[OpRecord] = Registry("torch record", "archc.runtime.ops", _FAMILIES)
RECORDS = TORCH_RECORDS.entries  # name -> OpRecord, filled as the families load
register = TORCH_RECORDS.register
get = TORCH_RECORDS.get
all_records = TORCH_RECORDS.all
