"""Regularisation: dropout and drop-path. Shape-preserving, parameter-free, no MACs;
they act in training only (identities in eval mode and in ONNX), so no cost changes."""

from __future__ import annotations

from archc.compiler.ops.registry import OpRule, Rules, Shape, register
from archc.kernel.symbolic import apply


def rate_shape(r: Rules) -> Shape:
    p = r["p"]
    r.require(
        apply("and", apply("ge", p, 0), apply("lt", p, 1)),
        f"a drop probability must lie in [0, 1), not {p}",
    )
    return r.x


register(OpRule("dropout", rate_shape), OpRule("drop_path", rate_shape))
