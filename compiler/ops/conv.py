"""Convolutions and linear layers: conv, deconv (transposed conv), linear."""

from __future__ import annotations

from archc.compiler.ops.padding import same_padding
from archc.compiler.ops.registry import OpRule, Rules, Shape, register
from archc.kernel.symbolic import apply


def _divides(r: Rules, groups, channels, what: str) -> None:
    r.require(
        apply("eq", apply("mod", channels, groups), 0),
        f"groups ({groups}) must divide the {what} channels ({channels})",
    )


def conv_shape(r: Rules) -> Shape:
    c, h, w = r.x
    k, s, d, g = r["k"], r["stride"], r["dilation"], r["groups"]
    _divides(r, g, c, "input")
    _divides(r, g, r["out"], "output")
    p = same_padding(k, r["padding"], d)
    size = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n in (h, w)]
    for n in size:
        r.require(apply("ge", n, 1), "the kernel is larger than the padded input")
    return (r["out"], size[0], size[1])


def conv_params(r: Rules, out: Shape):
    weight = out[0] * (r.x[0] // r["groups"]) * r["k"] * r["k"]
    return weight + apply("if", r["bias"], out[0], 0)


def conv_macs(r: Rules, out: Shape):
    return out[0] * (r.x[0] // r["groups"]) * r["k"] * r["k"] * out[1] * out[2]


def deconv_padding(k) -> tuple:
    """SimpleBaseline's rule: kernel 4 -> (1, 0), 3 -> (1, 1), 2 -> (0, 0)."""
    pad = apply("if", apply("eq", k, 2), 0, 1)
    output_pad = apply("if", apply("eq", k, 3), 1, 0)
    return pad, output_pad


def deconv_shape(r: Rules) -> Shape:
    c, h, w = r.x
    k, s, g = r["k"], r["stride"], r["groups"]
    r.require(apply("in", k, (2, 3, 4)), f"a transposed conv kernel must be 2, 3 or 4, not {k}")
    _divides(r, g, c, "input")
    _divides(r, g, r["out"], "output")
    p, op = deconv_padding(k)
    return (r["out"], (h - 1) * s - 2 * p + k + op, (w - 1) * s - 2 * p + k + op)


def deconv_params(r: Rules, out: Shape):
    return r.x[0] * (out[0] // r["groups"]) * r["k"] * r["k"] + apply("if", r["bias"], out[0], 0)


def deconv_macs(r: Rules, out: Shape):
    return r.x[0] * (out[0] // r["groups"]) * r["k"] * r["k"] * r.x[1] * r.x[2]


def deconv_hrnet_macs(r: Rules, out: Shape):
    return r.x[0] * (out[0] // r["groups"]) * r["k"] * r["k"] * out[1] * out[2]


def linear_shape(r: Rules) -> Shape:
    return (r["out"], 1, 1)


def linear_params(r: Rules, out: Shape):
    c, h, w = r.x
    return c * h * w * r["out"] + apply("if", r["bias"], r["out"], 0)


def linear_macs(r: Rules, out: Shape):
    c, h, w = r.x
    return c * h * w * r["out"]


register(
    OpRule("conv", conv_shape, conv_params, conv_macs),
    OpRule("deconv", deconv_shape, deconv_params, deconv_macs, hrnet_macs=deconv_hrnet_macs),
    OpRule("linear", linear_shape, linear_params, linear_macs),
)
