"""The op registry: for every primitive op, its shape, parameter and MAC rules.

Rules are plain functions of the op's attributes and input shapes, written like
the PyTorch formulas. Inputs may be numbers or `Sym`s (values that depend on
choices), so one rule serves the maximum shape, every config and the symbolic
shapes used to resolve `x.channels` during lowering.

A rule states what it needs of its inputs with `require(cond, message)`; the
caller decides each requirement now, over every config, or keeps it for later.
Conventions (see docs and reference/published_architectures.md): params count
every learnable tensor; MACs count multiply-accumulates of conv, transposed
conv (over input pixels), linear and attention pooling, and no bias adds,
normalisation, activation, pooling or resampling. The `hrnet` convention
counts conv and linear only, transposed conv over output pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archc.kernel.registry import Registry

Shape = tuple[Any, Any, Any]  # (channels, height, width); ints or Syms
Attrs = Mapping[str, Any]


@dataclass(frozen=True)
class Requirement:
    """A condition an op needs of its inputs (e.g. equal channels), with its message."""

    cond: Any  # bool or bool Sym
    message: str


class Rules:
    """What a rule function receives: attributes, input shapes and a requirement list."""

    def __init__(self, attrs: Attrs, inputs: list[Shape]):
        self.attrs = attrs
        self.inputs = inputs
        self.requirements: list[Requirement] = []

    def __getitem__(self, key: str) -> Any:
        return self.attrs[key]

    @property
    def x(self) -> Shape:
        return self.inputs[0]

    def require(self, cond: Any, message: str) -> None:
        if cond is not True:
            self.requirements.append(Requirement(cond, message))


def _zero(r: Rules, out: Shape) -> int:
    return 0


@dataclass(frozen=True)
class OpRule:
    name: str
    shape: Callable[[Rules], Shape]
    params: Callable[[Rules, Shape], Any] = _zero
    macs: Callable[[Rules, Shape], Any] = _zero
    hrnet_macs: Callable[[Rules, Shape], Any] | None = None  # None: same as `macs`

    def macs_for(self, convention: str) -> Callable[[Rules, Shape], Any]:
        if convention == "hrnet" and self.hrnet_macs is not None:
            return self.hrnet_macs
        return self.macs


_FAMILIES = ("activation", "combine", "conv", "norm", "pool", "regularise", "shape", "transformer")
RULES: Registry[OpRule] = Registry("rule", "archc.compiler.ops", _FAMILIES)
REGISTRY = RULES.entries  # name -> OpRule, filled as the families load
register = RULES.register
get = RULES.get
all_ops = RULES.all
