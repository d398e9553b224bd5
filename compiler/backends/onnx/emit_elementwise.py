"""ONNX for activations and the ops that combine tensors (add, mul, cat, scatter,
squash, skip; `zero` is in emit_shape). Each mirrors the torch backend exactly."""

from __future__ import annotations

import numpy as np

from archc.compiler.backends.onnx.builder import Builder, emitter
from archc.compiler.ir import IRNode


def activate(b: Builder, fn: str, x: str, name: str, a: dict) -> str:
    if fn == "relu":
        return b.add("Relu", [x], name)
    if fn == "relu6":
        return b.add("Clip", [x, b.const(0.0, np.float32), b.const(6.0, np.float32)], name)
    if fn == "hswish":
        return b.add("HardSwish", [x], name)
    if fn == "hsigmoid":  # clamp((x + bias) / divisor, 0, 1)
        bias, divisor = a.get("bias", 3.0), a.get("divisor", 6.0)
        return b.add("HardSigmoid", [x], name, alpha=1.0 / divisor, beta=bias / divisor)
    if fn == "sigmoid":
        return b.add("Sigmoid", [x], name)
    if fn == "swish":
        return b.add("Mul", [x, b.add("Sigmoid", [x], name)], name)
    if fn == "gelu":  # opset 17 has no Gelu: the erf form (emit_transformer)
        from archc.compiler.backends.onnx.emit_transformer import erf_gelu

        return erf_gelu(b, x, name)
    if fn == "identity":
        return b.add("Identity", [x], name)
    raise ValueError(f"no ONNX form for the activation {fn!r}")


@emitter("relu", "relu6", "hswish", "hsigmoid", "sigmoid", "swish")
def activation_op(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return activate(b, node.op, xs[0], node.name, a)


@emitter("activation")
def activation(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return activate(b, a["fn"], xs[0], node.name, {})


@emitter("add", "mul")
def fold(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    """Left to right, as torch sums them (the order matters in float)."""
    out = xs[0]
    for x in xs[1:]:
        out = b.add("Add" if node.op == "add" else "Mul", [out, x], node.name)
    return out if len(xs) > 1 else b.add("Identity", [out], node.name)


@emitter("cat")
def cat(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return b.add("Concat", xs, node.name, axis=1)


@emitter("scatter")
def scatter(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    """A 1x1 conv with a 0/1 matrix: channel i of x is added to channel index[i]."""
    placement = np.zeros((a["channels"], shapes[0][0], 1, 1), np.float32)
    for i, target in enumerate(a["index"]):
        placement[target, i] = 1.0
    return b.add("Conv", [xs[0], b.const(placement, np.float32)], node.name, kernel_shape=[1, 1])


@emitter("squash")
def squash(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    c, h, w = shapes[0]
    vectors = b.add("Reshape", [xs[0], b.const([0, c // a["dim"], a["dim"], h, w])], node.name)
    norm2 = b.add(
        "ReduceSum",
        [b.add("Mul", [vectors, vectors], node.name), b.const([2])],
        node.name,
        keepdims=0,
    )
    one = b.const(1.0, np.float32)
    return b.add("Div", [norm2, b.add("Add", [norm2, one], node.name)], node.name)


@emitter("skip")
def skip(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return b.add("Identity", [xs[0]], node.name)
