"""Static int8 quantization of archc's ONNX exports, with onnxruntime's own tools.

`quantize` runs onnxruntime's pre-processing (shape inference and the graph
optimisations that fold BatchNorm into the convolution before it) and then
`quantize_static` in QDQ format: weights int8 (per output channel by default),
activations uint8 with ranges calibrated on the batches given (min-max, entropy
or percentile). Nodes named in `keep_fp32` stay in float32, which is how the
mixed-precision export keeps the units whose int8 kernel is slower on this CPU.

The pre-processing writes files, so the work happens in a private temporary
folder; what comes back is the model's bytes, marked as an archc export
(`producer_name`) with its precision in the metadata. Nothing here reads data
sets: the caller brings the calibration batches (`archc.runtime.deploy`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

METHODS = ("minmax", "entropy", "percentile")
# Ops never quantized, for accuracy: int8 ConvTranspose moved the heatmap peaks of a
# trained tiny.arch (64 x 48) by more than one cell for 32 % of the joints, against 4 %
# with the deconvolutions left in float32 (and they were not faster in int8 either).
ALWAYS_FP32 = ("ConvTranspose",)
PRODUCER = "archc"  # builder.to_onnx's producer_name: how an archc export is recognised
MIN_CALIBRATION = 8  # crops: fewer give activation ranges of a handful of images


class QuantizeError(ValueError):
    """A request that cannot be quantized, or a runtime without int8 kernels."""


@dataclass(frozen=True)
class QuantizeOptions:
    method: str = "minmax"
    per_channel: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise QuantizeError(
                f"unknown calibration method {self.method!r}; one of {', '.join(METHODS)}"
            )


def quantize(
    model: bytes,
    batches: Iterable[dict[str, np.ndarray]],
    options: QuantizeOptions | None = None,
    keep_fp32: Iterable[str] = (),
) -> bytes:
    """The int8 model of the float32 `model` (bytes of an ONNX file), its activation
    ranges calibrated on `batches` (feeds: input name -> float32 array)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.preprocess import quant_pre_process

    options = options or QuantizeOptions()
    method = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[options.method]
    kept_units = {name.rpartition(":")[0] for name in keep_fp32}
    with tempfile.TemporaryDirectory(prefix="archc-int8-") as tmp, _quiet():
        src, pre, out = (Path(tmp) / name for name in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(model)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        keep = _exclusions(pre, kept_units)
        reader = _Reader(batches)
        quantize_static(
            str(pre),
            str(out),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=options.per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=sorted(keep),
            calibrate_method=method,
            extra_options={"CalibMovingAverage": False},
        )
        if not reader.seen:
            raise QuantizeError("no calibration batch was given")
        result = onnx.load(str(out))
    result.producer_name = PRODUCER
    _set_meta(result, "archc.precision", "int8")
    return result.SerializeToString()


def _exclusions(pre: Path, kept_units: set[str]) -> set[str]:
    """Names of the pre-processed model's nodes to leave in float32: those of the kept
    IR nodes, and `ALWAYS_FP32`. Pre-processing adds unnamed nodes (HardSwish becomes
    x * HardSigmoid(x)); each is named after the IR node whose output it computes, or
    whose output its consumer computes, so it stays with its unit. The model is saved
    back with those names."""
    model = onnx.load(str(pre))
    nodes = model.graph.node
    consumers: dict[str, list] = {}
    for node in nodes:
        for tensor in node.input:
            consumers.setdefault(tensor, []).append(node)
    for i, node in enumerate(nodes):
        if not node.name:
            owner = _ir_owner(node) or next(
                (o for c in consumers.get(node.output[0], []) if (o := _ir_owner(c))), "pre"
            )
            node.name = f"{owner}:pre{i}"
    onnx.save(model, str(pre))
    return {
        n.name for n in nodes if n.name.rpartition(":")[0] in kept_units or n.op_type in ALWAYS_FP32
    }


def _ir_owner(node) -> str | None:
    """The IR name in a node's output tensor (the builder names them `<IR name>:<n>`)."""
    named = next((o for o in node.output if ":" in o), None)
    return named.rpartition(":")[0] if named else None


def fp32_node_names(model: bytes, ir_names: Iterable[str]) -> set[str]:
    """The ONNX node names emitted for IR nodes `ir_names` (the builder names each
    `<IR name>:<n>`), which is what `quantize(keep_fp32=...)` excludes."""
    wanted = set(ir_names)
    parsed = onnx.load_from_string(model)
    return {n.name for n in parsed.graph.node if n.name.rpartition(":")[0] in wanted}


def precision_of(model: onnx.ModelProto) -> str:
    """ "int8" for a model `quantize` wrote, else "fp32"."""
    meta = {p.key: p.value for p in model.metadata_props}
    return meta.get("archc.precision", "fp32")


def _set_meta(model: onnx.ModelProto, key: str, value: str) -> None:
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
            return
    model.metadata_props.add(key=key, value=value)


class _Reader:
    """onnxruntime's CalibrationDataReader over our batches (duck-typed: its base
    class accepts any class with `get_next`, the one method calibration calls)."""

    def __init__(self, batches: Iterable[dict[str, np.ndarray]]) -> None:
        self._it: Iterator[dict[str, np.ndarray]] = iter(batches)
        self.seen = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        feeds = next(self._it, None)
        if feeds is not None:
            self.seen += 1
        return feeds


@contextlib.contextmanager
def _quiet():
    """onnxruntime's quantization tools log advice at WARNING on the root logger, and
    its histogram calibrators print their progress to stdout."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


def random_batches(
    inputs: dict[str, tuple[int, ...]], count: int = MIN_CALIBRATION, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """Seeded normal batches: enough to calibrate a model whose latency, not
    accuracy, is measured (the latency tables)."""
    rng = np.random.default_rng(seed)
    return [
        {name: rng.standard_normal(shape).astype(np.float32) for name, shape in inputs.items()}
        for _ in range(count)
    ]


@functools.cache
def check_int8_kernels() -> None:
    """Raise `QuantizeError` unless this onnxruntime quantizes and runs an int8
    convolution on this CPU (a build without the quantization tools, or a CPU
    provider without int8 kernels)."""
    try:
        from onnx import TensorProto, helper, numpy_helper

        from archc.compiler.backends.onnx.runner import session

        weight = numpy_helper.from_array(np.ones((4, 4, 3, 3), np.float32), "w")
        graph = helper.make_graph(
            [helper.make_node("Conv", ["x", "w"], ["y"], name="conv:1", pads=[1] * 4)],
            "probe",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
            [weight],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = min(model.ir_version, 10)
        data = quantize(model.SerializeToString(), random_batches({"x": (1, 4, 8, 8)}, 2))
        session(data).run(None, random_batches({"x": (1, 4, 8, 8)}, 1)[0])
    except Exception as err:  # any failure means: no usable int8 path here
        import onnxruntime

        raise QuantizeError(
            f"onnxruntime {onnxruntime.__version__} on this machine cannot run int8 "
            f"models ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else '-'})"
        ) from None
