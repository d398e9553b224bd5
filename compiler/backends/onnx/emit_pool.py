"""ONNX for pooling, resizing and the GC block's attention pooling."""

from __future__ import annotations

from archc.compiler.backends.onnx.builder import Builder, emitter
from archc.compiler.ir import IRNode
from archc.compiler.ops.padding import same_padding


@emitter("maxpool", "avgpool")
def pool(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    pad = same_padding(a["k"], a["padding"])
    common = {"kernel_shape": [a["k"]] * 2, "strides": [a["stride"]] * 2, "pads": [pad] * 4}
    if node.op == "maxpool":
        return b.add("MaxPool", xs[:1], node.name, **common)
    return b.add("AveragePool", xs[:1], node.name, count_include_pad=0, **common)


@emitter("global_avgpool")
def global_avgpool(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return b.add("GlobalAveragePool", xs[:1], node.name)


def resize(
    b: Builder, x: str, size: tuple[int, int], mode: str, name: str, corners: bool = False
) -> str:
    """torch's `interpolate(size=...)`: nearest = floor(dst * in / out) ('asymmetric'),
    bilinear = 'pytorch_half_pixel', or 'align_corners' with align_corners=True. The
    batch stays symbolic."""
    leading = b.add("Slice", [b.add("Shape", [x], name), b.const([0]), b.const([2])], name)
    sizes = b.add("Concat", [leading, b.const(list(size))], name, axis=0)
    if mode == "nearest":
        return b.add(
            "Resize",
            [x, "", "", sizes],
            name,
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        )
    return b.add(
        "Resize",
        [x, "", "", sizes],
        name,
        mode="linear",
        coordinate_transformation_mode="align_corners" if corners else "pytorch_half_pixel",
    )


@emitter("upsample")
def upsample(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    _, h, w = shapes[0]
    size = (h * a["factor"], w * a["factor"])
    return resize(b, xs[0], size, a["mode"], node.name, a.get("align_corners", False))


@emitter("resize_like")
def resize_like(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    return resize(b, xs[0], tuple(shapes[1][1:]), a["mode"], node.name)


@emitter("attention_pool")
def attention_pool(b: Builder, node: IRNode, xs: list[str], shapes: list[tuple], a: dict) -> str:
    """softmax(mask over H*W) as weights of a sum over the pixels of x: [C, 1, 1]."""
    c = shapes[0][0]
    mask = b.add("Reshape", [xs[1], b.const([0, 1, -1])], node.name)
    weights = b.add(
        "Transpose", [b.add("Softmax", [mask], node.name, axis=-1)], node.name, perm=[0, 2, 1]
    )
    pixels = b.add("Reshape", [xs[0], b.const([0, c, -1])], node.name)
    pooled = b.add("MatMul", [pixels, weights], node.name)
    return b.add("Unsqueeze", [pooled, b.const([3])], node.name)
