"""Transformer ops: channel_norm, attention, pos_embed, cls_token, take_cls (gelu is an
activation, in `activation.py`).

Tokens keep the map layout: the tokens of an H x W map with C channels are the
[C, H, W] tensor and attention runs over its N = H * W positions, so a patch
embedding is a strided conv and "back to maps" is the identity. `cls_token`
turns a map into a sequence [C, N + 1, 1] (the class token first), on which every
other op works unchanged.

Attention's counts, with I = heads * head_dim (head_dim 0: C // heads):
params 3 I C (+ 3 I qkv bias) + I C + C (projection with bias);
MACs N C 3I (qkv) + N N I (scores) + N N I (weighted sum) + N I C (projection).
The `hrnet` convention counts conv and linear only: the qkv and projection.
"""

from __future__ import annotations

from archc.compiler.ops.norm import same_shape
from archc.compiler.ops.registry import OpRule, Rules, Shape, register
from archc.kernel.symbolic import apply


def head_dim(heads, head_dim_attr, channels):
    """The width of one head: `head_dim`, or channels // heads when it is 0."""
    return apply("if", apply("eq", head_dim_attr, 0), channels // heads, head_dim_attr)


def inner_dim(r: Rules):
    """I = heads * head_dim: the width of q, k and v together over the heads."""
    return r["heads"] * head_dim(r["heads"], r["head_dim"], r.x[0])


def attention_shape(r: Rules) -> Shape:
    c = r.x[0]
    r.require(
        apply("or", apply("ne", r["head_dim"], 0), apply("eq", apply("mod", c, r["heads"]), 0)),
        f"heads ({r['heads']}) must divide the channels ({c}) when head_dim is 0",
    )
    return r.x


def attention_params(r: Rules, out: Shape):
    c, inner = r.x[0], inner_dim(r)
    qkv = 3 * inner * c + apply("if", r["qkv_bias"], 3 * inner, 0)
    return qkv + inner * c + c


def _linear_macs(r: Rules, out: Shape):
    c, h, w = r.x
    return h * w * c * 3 * inner_dim(r) + h * w * inner_dim(r) * c


def attention_macs(r: Rules, out: Shape):
    n = r.x[1] * r.x[2]
    return _linear_macs(r, out) + 2 * n * n * inner_dim(r)


def channel_norm_params(r: Rules, out: Shape):
    return 2 * out[0]


def pos_embed_params(r: Rules, out: Shape):
    c, h, w = out
    return c * (h * w + r["extra"])


def cls_token_shape(r: Rules) -> Shape:
    c, h, w = r.x
    return (c, h * w + 1, 1)


def take_cls_shape(r: Rules) -> Shape:
    return (r.x[0], 1, 1)


register(
    OpRule("channel_norm", same_shape, channel_norm_params),
    OpRule("attention", attention_shape, attention_params, attention_macs, _linear_macs),
    OpRule("pos_embed", same_shape, pos_embed_params),
    OpRule("cls_token", cls_token_shape, lambda r, out: out[0]),
    OpRule("take_cls", take_cls_shape),
)
