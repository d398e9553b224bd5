"""Activations: shape-preserving, parameter-free, no MACs counted."""

from __future__ import annotations

from archc.compiler.ops.norm import same_shape
from archc.compiler.ops.registry import OpRule, Rules, Shape, register
from archc.kernel.symbolic import apply

ACTIVATIONS = ("relu", "relu6", "hswish", "hsigmoid", "sigmoid", "swish", "gelu", "identity")


def activation_shape(r: Rules) -> Shape:
    r.require(
        apply("in", r["fn"], ACTIVATIONS),
        f"unknown activation {r['fn']!r}; known: {', '.join(ACTIVATIONS)}",
    )
    return r.x


register(
    *(OpRule(name, same_shape) for name in ACTIVATIONS if name != "identity"),
    OpRule("activation", activation_shape),
)
