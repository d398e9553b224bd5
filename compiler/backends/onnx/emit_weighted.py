"""ONNX for the ops with weights: conv, deconv, linear, bn, layernorm.

Weight layouts are torch's (Conv [O, I/g, K, K], ConvTranspose [I, O/g, K, K],
Linear [out, in]), which are also ONNX's, so a derived module's state dict is
used as is.
"""

from __future__ import annotations

from archc.compiler.backends.onnx.builder import Builder, emitter
from archc.compiler.ir import IRNode
from archc.compiler.ops.conv import deconv_padding
from archc.compiler.ops.padding import same_padding
from archc.kernel.symbolic import evaluate


@emitter("conv")
def conv(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    cin, k, g = shapes[0][0], a["k"], a["groups"]
    pad = same_padding(k, a["padding"], a["dilation"])
    inputs = [xs[0], b.weight(node, "weight", (a["out"], cin // g, k, k))]
    if a["bias"]:
        inputs.append(b.weight(node, "bias", (a["out"],)))
    return b.add(
        "Conv",
        inputs,
        node.name,
        kernel_shape=[k, k],
        strides=[a["stride"]] * 2,
        pads=[pad] * 4,
        dilations=[a["dilation"]] * 2,
        group=g,
    )


@emitter("deconv")
def deconv(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    cin, k, g = shapes[0][0], a["k"], a["groups"]
    pad, out_pad = (evaluate(v, {}) for v in deconv_padding(k))
    inputs = [xs[0], b.weight(node, "weight", (cin, a["out"] // g, k, k))]
    if a["bias"]:
        inputs.append(b.weight(node, "bias", (a["out"],)))
    return b.add(
        "ConvTranspose",
        inputs,
        node.name,
        kernel_shape=[k, k],
        strides=[a["stride"]] * 2,
        pads=[pad] * 4,
        output_padding=[out_pad] * 2,
        group=g,
    )


@emitter("linear")
def linear(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    c, h, w = shapes[0]
    flat = b.add("Flatten", [xs[0]], node.name, axis=1)
    inputs = [flat, b.weight(node, "weight", (a["out"], c * h * w))]
    if a["bias"]:
        inputs.append(b.weight(node, "bias", (a["out"],)))
    out = b.add("Gemm", inputs, node.name, transB=1)
    return b.add("Unsqueeze", [out, b.const([2, 3])], node.name)


@emitter("bn")
def bn(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    """Inference form: running statistics (a deployed subnet is in eval mode)."""
    c = shapes[0][0]
    if a["affine"]:
        scale, shift = b.weight(node, "weight", (c,)), b.weight(node, "bias", (c,))
    else:
        scale, shift = b.const([1.0] * c, "float32"), b.const([0.0] * c, "float32")
    stats = [b.weight(node, "running_mean", (c,)), b.weight(node, "running_var", (c,))]
    return b.add("BatchNormalization", [xs[0], scale, shift, *stats], node.name, epsilon=1e-5)


@emitter("layernorm")
def layernorm(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    shape = tuple(shapes[0])
    return b.add(
        "LayerNormalization",
        [xs[0], b.weight(node, "weight", shape), b.weight(node, "bias", shape)],
        node.name,
        axis=1,
        epsilon=1e-5,
    )
