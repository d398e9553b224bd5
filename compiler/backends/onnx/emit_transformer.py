"""ONNX for the transformer ops, in opset 17 (the builder's): GELU decomposed with Erf
(ONNX's Gelu needs opset 20), LayerNormalization on channels-last, attention as
MatMul / Softmax. Each follows `archc.runtime.ops.transformer` operation for operation;
weights keep torch's layouts (Linear [out, in]), transposed by a node, so the floats
stored are exactly the subnet's parameters."""

from __future__ import annotations

import math

import numpy as np

from archc.compiler.backends.onnx.builder import Builder, emitter
from archc.compiler.backends.onnx.emit_elementwise import activate
from archc.compiler.ir import IRNode

CHANNELS_LAST, CHANNELS_FIRST = [0, 2, 3, 1], [0, 3, 1, 2]


@emitter("gelu")
def gelu(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return activate(b, "gelu", xs[0], node.name, a)


def erf_gelu(b: Builder, x: str, name: str) -> str:
    """x * (1 + erf(x / sqrt(2))) / 2, torch's exact GELU."""
    erf = b.add("Erf", [b.add("Div", [x, b.const(math.sqrt(2.0), np.float32)], name)], name)
    half_x = b.add("Mul", [x, b.const(0.5, np.float32)], name)
    return b.add("Mul", [half_x, b.add("Add", [erf, b.const(1.0, np.float32)], name)], name)


@emitter("channel_norm")
def channel_norm(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    c = shapes[0][0]
    last = b.add("Transpose", [xs[0]], node.name, perm=CHANNELS_LAST)
    normed = b.add(
        "LayerNormalization",
        [last, b.weight(node, "weight", (c,)), b.weight(node, "bias", (c,))],
        node.name,
        axis=-1,
        epsilon=a["eps"],
    )
    return b.add("Transpose", [normed], node.name, perm=CHANNELS_FIRST)


def _linear(b: Builder, node: IRNode, x: str, layer: str, out: int, cin: int, bias: bool) -> str:
    """x [B, N, cin] @ W^T (+ b) with the torch-layout weight `layer.weight` [out, cin]."""
    weight = b.weight(node, f"{layer}.weight", (out, cin))
    y = b.add("MatMul", [x, b.add("Transpose", [weight], node.name, perm=[1, 0])], node.name)
    return b.add("Add", [y, b.weight(node, f"{layer}.bias", (out,))], node.name) if bias else y


def _heads(b: Builder, node: IRNode, qkv: str, n: int, heads: int, d: int) -> list[str]:
    """[B, N, 3 I] -> q, k, v, each [B, heads, N, d]."""
    split = b.add("Reshape", [qkv, b.const([0, n, 3, heads, d])], node.name)
    parts = b.add("Transpose", [split], node.name, perm=[2, 0, 3, 1, 4])
    return [b.add("Gather", [parts, b.const(i)], node.name, axis=0) for i in range(3)]


@emitter("attention")
def attention(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    c, h, w = shapes[0]
    n, heads = h * w, a["heads"]
    d = a["head_dim"] or c // heads
    seq = b.add("Reshape", [xs[0], b.const([0, c, n])], node.name)
    seq = b.add("Transpose", [seq], node.name, perm=[0, 2, 1])
    qkv = _linear(b, node, seq, "qkv", 3 * heads * d, c, a["qkv_bias"])
    q, k, v = _heads(b, node, qkv, n, heads, d)
    q = b.add("Mul", [q, b.const(d**-0.5, np.float32)], node.name)
    k_t = b.add("Transpose", [k], node.name, perm=[0, 1, 3, 2])
    weights = b.add("Softmax", [b.add("MatMul", [q, k_t], node.name)], node.name, axis=-1)
    mixed = b.add(
        "Transpose", [b.add("MatMul", [weights, v], node.name)], node.name, perm=[0, 2, 1, 3]
    )
    mixed = b.add("Reshape", [mixed, b.const([0, n, heads * d])], node.name)
    out = _linear(b, node, mixed, "proj", c, heads * d, True)
    out = b.add("Transpose", [out], node.name, perm=[0, 2, 1])
    return b.add("Reshape", [out, b.const([0, c, h, w])], node.name)


@emitter("pos_embed")
def pos_embed(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    c, h, w = shapes[0]
    extra = a["extra"]
    weight = b.weight(node, "weight", (c, extra + h * w))
    grid = b.add(
        "Slice", [weight, b.const([extra]), b.const([extra + h * w]), b.const([1])], node.name
    )
    out = b.add(
        "Add", [xs[0], b.add("Reshape", [grid, b.const([1, c, h, w])], node.name)], node.name
    )
    if not extra:
        return out
    first = b.add("Slice", [weight, b.const([0]), b.const([extra]), b.const([1])], node.name)
    total = b.add("ReduceSum", [first, b.const([1])], node.name, keepdims=1)
    return b.add(
        "Add", [out, b.add("Reshape", [total, b.const([1, c, 1, 1])], node.name)], node.name
    )


@emitter("cls_token")
def cls_token(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    c, h, w = shapes[0]
    token = b.add("Reshape", [b.weight(node, "weight", (c,)), b.const([1, c, 1, 1])], node.name)
    batch = b.add(
        "Slice", [b.add("Shape", [xs[0]], node.name), b.const([0]), b.const([1])], node.name
    )
    size = b.add("Concat", [batch, b.const([c, 1, 1])], node.name, axis=0)
    seq = b.add("Reshape", [xs[0], b.const([0, c, h * w, 1])], node.name)
    return b.add("Concat", [b.add("Expand", [token, size], node.name), seq], node.name, axis=2)


@emitter("take_cls")
def take_cls(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return b.add("Slice", [xs[0], b.const([0, 0]), b.const([1, 1]), b.const([2, 3])], node.name)
