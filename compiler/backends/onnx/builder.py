"""`to_onnx`: walk a fixed IR graph in order and let each op's emitter add its nodes.

The batch dimension is symbolic (`batch`), so one file serves any batch size;
channel, height and width are the IR's static shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import networkx as nx
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from archc.compiler.ir import IRNode, facts, input_ids
from archc.kernel.symbolic import is_symbolic

DEFAULT_OPSET = 17  # LayerNormalization needs 17; HardSwish 14
# (weight name of the op, parameter, shape) -> array; parameters follow torch's names
Weights = Callable[[str, str, tuple[int, ...]], np.ndarray]
Emitter = Callable[["Builder", IRNode, list[str], list[tuple], dict], str]
EMITTERS: dict[str, Emitter] = {}


def emitter(*ops: str) -> Callable[[Emitter], Emitter]:
    def register(fn: Emitter) -> Emitter:
        for op in ops:
            EMITTERS[op] = fn
        return fn

    return register


class Builder:
    """The growing graph: nodes, initialisers (weights and constants) and fresh names."""

    def __init__(self, weights: Weights, opset: int):
        self.weights = weights
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}:{self._count}"

    def add(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        out = self.fresh(name)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def weight(self, node: IRNode, param: str, shape: tuple[int, ...]) -> str:
        """The initialiser of `param` of the op's (possibly shared) weights."""
        key = f"{node.weight_name}.{param}"
        if key not in self.initializers:
            array = np.asarray(self.weights(node.weight_name, param, shape), dtype=np.float32)
            if array.shape != tuple(shape):
                raise ValueError(
                    f"weights of `{node.weight_name}` ({param}) have shape "
                    f"{list(array.shape)}, the op needs {list(shape)}"
                )
            self.initializers[key] = numpy_helper.from_array(array, key)
        return key

    def const(self, values: Any, dtype: Any = np.int64) -> str:
        name = self.fresh("const")
        self.initializers[name] = numpy_helper.from_array(np.asarray(values, dtype=dtype), name)
        return name


def to_onnx(
    graph: nx.MultiDiGraph, weights: Weights, opset: int = DEFAULT_OPSET, name: str | None = None
) -> onnx.ModelProto:
    """The ONNX model of a graph without choices (a net or `space.derive(config).graph`)."""
    if facts(graph).choices:
        raise ValueError(f"`{facts(graph).name}` still has choices: derive a subnet first")
    _load_emitters()
    builder = Builder(weights, opset)
    values: dict[int, str] = {}
    inputs = []
    for input_name, n in facts(graph).inputs.items():
        values[n] = input_name
        inputs.append(_value_info(input_name, graph.nodes[n]["ir"].shape))
    for n in sorted(graph.nodes):
        node: IRNode = graph.nodes[n]["ir"]
        if node.kind == "input":
            continue
        if node.kind != "op" or is_symbolic(tuple(node.attrs.values())):
            raise ValueError(f"`{node.name}` still depends on choices: derive a subnet first")
        srcs = input_ids(graph, n)
        shapes = [tuple(graph.nodes[i]["ir"].shape) for i in srcs]
        values[n] = EMITTERS[node.op](
            builder, node, [values[i] for i in srcs], shapes, dict(node.attrs)
        )
    outputs = []
    for output_name, n in facts(graph).outputs.items():
        builder.nodes.append(
            helper.make_node("Identity", [values[n]], [output_name], name=f"output:{output_name}")
        )
        outputs.append(_value_info(output_name, graph.nodes[n]["ir"].shape))
    onnx_graph = helper.make_graph(
        builder.nodes,
        name or facts(graph).name,
        inputs,
        outputs,
        list(builder.initializers.values()),
    )
    model = helper.make_model(
        onnx_graph, producer_name="archc", opset_imports=[helper.make_opsetid("", opset)]
    )
    model.ir_version = min(model.ir_version, 10)  # what current onnxruntime releases read
    return model


def _value_info(name: str, shape: tuple | None) -> onnx.ValueInfoProto:
    dims = None if shape is None else ["batch", *shape]  # None: left to shape inference
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def random_weights(seed: int = 0) -> Weights:
    """Seeded weights for timing: the values do not matter, positive variances do."""
    rng = np.random.default_rng(seed)

    def make(weight_name: str, param: str, shape: tuple[int, ...]) -> np.ndarray:
        if param == "running_var":
            return rng.uniform(0.5, 1.5, shape).astype(np.float32)
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    return make


def state_weights(state: Mapping[str, Any]) -> Weights:
    """Weights from a flat mapping `"<weight name>.<param>" -> array` (a derived module's)."""

    def lookup(weight_name: str, param: str, shape: tuple[int, ...]) -> np.ndarray:
        key = f"{weight_name}.{param}"
        if key not in state:
            raise KeyError(f"no weights for `{key}`")
        return np.asarray(state[key])

    return lookup


def _load_emitters() -> None:
    from archc.compiler.backends.onnx import (  # noqa: F401
        emit_elementwise,
        emit_pool,
        emit_shape,
        emit_transformer,
        emit_weighted,
    )
