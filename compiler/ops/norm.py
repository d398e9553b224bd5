"""Normalisation: bn (over channels), layernorm (over the whole [C, H, W])."""

from __future__ import annotations

from archc.compiler.ops.registry import OpRule, Rules, Shape, register
from archc.kernel.symbolic import apply


def same_shape(r: Rules) -> Shape:
    return r.x


def bn_params(r: Rules, out: Shape):
    return apply("if", r["affine"], 2 * out[0], 0)


def layernorm_params(r: Rules, out: Shape):
    c, h, w = out
    return 2 * c * h * w


register(
    OpRule("bn", same_shape, bn_params),
    OpRule("layernorm", same_shape, layernorm_params),
)
