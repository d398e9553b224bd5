"""Combining tensors and search-space helpers: add, mul, cat, scatter, squash, skip, zero."""

from __future__ import annotations

from archc.compiler.ops.norm import same_shape
from archc.compiler.ops.registry import OpRule, Rules, Shape, register
from archc.kernel.symbolic import apply


def elementwise_shape(r: Rules) -> Shape:
    """Equal shapes; a [C, 1, 1] input broadcasts over height and width."""
    full = [s for s in r.inputs if not (s[1] == 1 and s[2] == 1)] or r.inputs
    first = full[0]
    for shape in r.inputs[1:]:
        r.require(apply("eq", shape[0], first[0]), f"channels differ: {first[0]} and {shape[0]}")
    for shape in full[1:]:
        r.require(
            apply("and", apply("eq", shape[1], first[1]), apply("eq", shape[2], first[2])),
            f"sizes differ: {first[1]}x{first[2]} and {shape[1]}x{shape[2]}",
        )
    return first


def cat_shape(r: Rules) -> Shape:
    first = r.inputs[0]
    for shape in r.inputs[1:]:
        r.require(
            apply("and", apply("eq", shape[1], first[1]), apply("eq", shape[2], first[2])),
            f"sizes differ: {first[1]}x{first[2]} and {shape[1]}x{shape[2]}",
        )
    channels = first[0]
    for shape in r.inputs[1:]:
        channels = channels + shape[0]
    return (channels, first[1], first[2])


def scatter_shape(r: Rules) -> Shape:
    c, h, w = r.x
    index, channels = r["index"], r["channels"]
    r.require(apply("eq", c, len(index)), f"scatter needs one index per channel ({c})")
    r.require(
        all(0 <= i < channels for i in index) if isinstance(channels, int) else True,
        f"scatter indices must lie in 0..{channels}",
    )
    return (channels, h, w)


def squash_shape(r: Rules) -> Shape:
    c, h, w = r.x
    r.require(
        apply("eq", apply("mod", c, r["dim"]), 0),
        f"squash needs channels ({c}) divisible by dim ({r['dim']})",
    )
    return (c // r["dim"], h, w)


def zero_shape(r: Rules) -> Shape:
    """Like x[:, :, ::stride, ::stride]: ceil(H / stride) x ceil(W / stride)."""
    c, h, w = r.x
    s = r["stride"]
    return (c, (h + s - 1) // s, (w + s - 1) // s)


register(
    OpRule("add", elementwise_shape),
    OpRule("mul", elementwise_shape),
    OpRule("cat", cat_shape),
    OpRule("scatter", scatter_shape),
    OpRule("squash", squash_shape),
    OpRule("skip", same_shape),
    OpRule("zero", zero_shape),
)
