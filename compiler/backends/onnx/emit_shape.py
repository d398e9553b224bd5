"""ONNX for the channel and shape ops (channel_slice, shuffle, flatten, crop), the
strided zero, and the regularisers, which export as identities: an exported
network is an inference network, as torch's eval mode computes it."""

from __future__ import annotations

from archc.compiler.backends.onnx.builder import Builder, emitter
from archc.compiler.ir import IRNode


def _slice(b: Builder, x: str, name: str, axes: list, starts: list, ends: list, steps=None):
    inputs = [x, b.const(starts), b.const(ends), b.const(axes)]
    if steps is not None:
        inputs.append(b.const(steps))
    return b.add("Slice", inputs, name)


@emitter("channel_slice")
def channel_slice(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return _slice(b, xs[0], node.name, [1], [a["start"]], [a["stop"]])


@emitter("shuffle")
def shuffle(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    c, h, w = shapes[0]
    g = a["groups"]
    grouped = b.add("Reshape", [xs[0], b.const([0, g, c // g, h, w])], node.name)
    swapped = b.add("Transpose", [grouped], node.name, perm=[0, 2, 1, 3, 4])
    return b.add("Reshape", [swapped, b.const([0, c, h, w])], node.name)


@emitter("flatten")
def flatten(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    c, h, w = shapes[0]
    return b.add("Reshape", [xs[0], b.const([0, c * h * w, 1, 1])], node.name)


@emitter("crop")
def crop(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    _, h, w = shapes[0]
    starts, ends = [a["top"], a["left"]], [h - a["bottom"], w - a["right"]]
    return _slice(b, xs[0], node.name, [2, 3], starts, ends)


@emitter("zero")
def zero(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    x, s = xs[0], a.get("stride", 1)
    if s > 1:
        _, h, w = shapes[0]
        x = _slice(b, x, node.name, [2, 3], [0, 0], [h, w], [s, s])
    return b.add("ConstantOfShape", [b.add("Shape", [x], node.name)], node.name)


@emitter("dropout", "drop_path")
def regulariser(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return b.add("Identity", [xs[0]], node.name)
