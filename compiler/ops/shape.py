"""Channel and shape ops: channel_slice, shuffle, flatten, crop. Parameter-free and
without MACs; their rules only move sizes around, so every size may be a choice
(an elastic split ratio is a `channel_slice` whose `stop` is symbolic)."""

from __future__ import annotations

from archc.compiler.ops.registry import OpRule, Rules, Shape, register
from archc.kernel.symbolic import apply


def channel_slice_shape(r: Rules) -> Shape:
    c, h, w = r.x
    start, stop = r["start"], r["stop"]
    r.require(apply("lt", start, stop), f"channel_slice needs start ({start}) < stop ({stop})")
    r.require(apply("le", stop, c), f"channel_slice stops at {stop}, past the input's {c} channels")
    return (stop - start, h, w)


def shuffle_shape(r: Rules) -> Shape:
    c, _, _ = r.x
    r.require(
        apply("eq", apply("mod", c, r["groups"]), 0),
        f"shuffle needs channels ({c}) divisible by groups ({r['groups']})",
    )
    return r.x


def flatten_shape(r: Rules) -> Shape:
    c, h, w = r.x
    return (c * h * w, 1, 1)


def crop_shape(r: Rules) -> Shape:
    c, h, w = r.x
    rows = h - r["top"] - r["bottom"]
    cols = w - r["left"] - r["right"]
    r.require(apply("ge", rows, 1), f"crop leaves no rows of the input's {h}")
    r.require(apply("ge", cols, 1), f"crop leaves no columns of the input's {w}")
    return (c, rows, cols)


register(
    OpRule("channel_slice", channel_slice_shape),
    OpRule("shuffle", shuffle_shape),
    OpRule("flatten", flatten_shape),
    OpRule("crop", crop_shape),
)
