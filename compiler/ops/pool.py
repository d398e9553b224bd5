"""Pooling and resampling: maxpool, avgpool, global_avgpool, upsample, resize_like,
attention_pool (the GC block's softmax-weighted spatial sum, counted as C*H*W MACs)."""

from __future__ import annotations

from archc.compiler.ops.padding import same_padding
from archc.compiler.ops.registry import OpRule, Rules, Shape, register
from archc.kernel.symbolic import apply


def pool_shape(r: Rules) -> Shape:
    c, h, w = r.x
    k, s = r["k"], r["stride"]
    p = same_padding(k, r["padding"])
    r.require(apply("le", 2 * p, k), "pool padding must be at most half the kernel")
    size = [(n + 2 * p - k) // s + 1 for n in (h, w)]
    for n in size:
        r.require(apply("ge", n, 1), "the pooling window is larger than the padded input")
    return (c, size[0], size[1])


def global_pool_shape(r: Rules) -> Shape:
    return (r.x[0], 1, 1)


def upsample_shape(r: Rules) -> Shape:
    c, h, w = r.x
    r.require(
        apply("in", r["mode"], ("nearest", "bilinear")),
        f"upsample mode must be nearest or bilinear, not {r['mode']!r}",
    )
    r.require(apply("ge", r["factor"], 1), "upsample factor must be at least 1")
    r.require(
        apply("or", apply("not", r["align_corners"]), apply("eq", r["mode"], "bilinear")),
        'align_corners=true needs mode="bilinear"',
    )
    return (c, h * r["factor"], w * r["factor"])


def resize_like_shape(r: Rules) -> Shape:
    r.require(
        apply("in", r["mode"], ("nearest", "bilinear")),
        f"resize mode must be nearest or bilinear, not {r['mode']!r}",
    )
    return (r.x[0], r.inputs[1][1], r.inputs[1][2])


def attention_pool_shape(r: Rules) -> Shape:
    (c, h, w), (mc, mh, mw) = r.inputs
    r.require(apply("eq", mc, 1), f"the attention mask must have 1 channel, not {mc}")
    r.require(
        apply("and", apply("eq", mh, h), apply("eq", mw, w)),
        f"the attention mask ({mh}x{mw}) must match the input ({h}x{w})",
    )
    return (c, 1, 1)


def attention_pool_macs(r: Rules, out: Shape):
    c, h, w = r.x
    return c * h * w


register(
    OpRule("maxpool", pool_shape),
    OpRule("avgpool", pool_shape),
    OpRule("global_avgpool", global_pool_shape),
    OpRule("upsample", upsample_shape),
    OpRule("resize_like", resize_like_shape),
    OpRule(
        "attention_pool",
        attention_pool_shape,
        macs=attention_pool_macs,
        hrnet_macs=lambda r, out: 0,
    ),
)
