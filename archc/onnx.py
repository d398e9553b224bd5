"""`archc.onnx`: deployment of derived subnets with ONNX and onnxruntime (CPU).

`export(space_or_path, output, config=None, ...)` writes one self-contained
ONNX file of a subnet, checked and compared against torch; `latency(...)`
times a subnet in onnxruntime; `build_lut` / `load_lut` measure and reuse the
per-op latency table behind `space.cost(config, lut=...)`; `quantize_int8` writes
the calibrated mixed-precision int8 model beside an export, and `evaluate` scores
an export (float32 or int8) as deployed.
"""

from __future__ import annotations

import os
from typing import Any

from archc.compiler.backends.onnx.export import ExportError, ExportReport, frozen_subnet, to_model
from archc.compiler.backends.onnx.export import export as _export
from archc.compiler.backends.onnx.runner import Timing, ort_latency
from archc.compiler.ir import input_shapes

__all__ = [
    "ExportError",
    "ExportReport",
    "Timing",
    "evaluate",
    "export",
    "latency",
    "quantize_int8",
    "subnet_model",
]


def _space(space_or_path: Any):
    if isinstance(space_or_path, (str, os.PathLike)):
        import archc

        return archc.load(space_or_path)
    return space_or_path


def export(space_or_path: Any, output: str | os.PathLike, config=None, **options) -> ExportReport:
    """See `archc.compiler.backends.onnx.export.export` for the options."""
    return _export(_space(space_or_path), output, config, **options)


def subnet_model(space_or_path: Any, config=None, *, weights=None, realise=None, seed: int = 0):
    """(derived space, torch module, serialised ONNX model) of a subnet, without writing."""
    derived, module = frozen_subnet(
        _space(space_or_path), config, weights=weights, realise=realise, seed=seed
    )
    return derived, module, to_model(derived, module).SerializeToString()


def latency(
    space_or_path: Any,
    config=None,
    *,
    threads: int = 1,
    runs: int = 50,
    batch: int = 1,
    weights=None,
) -> Timing:
    """Median and p90 latency of the subnet in onnxruntime on this CPU."""
    derived, _, data = subnet_model(space_or_path, config, weights=weights)
    return ort_latency(data, input_shapes(derived.graph, batch), threads, runs)


def quantize_int8(
    space_or_path: Any,
    fp32_path: str | os.PathLike,
    calibrate: str | os.PathLike,
    config=None,
    *,
    images: int = 128,
    method: str = "minmax",
    per_channel: bool = True,
    lut: str | os.PathLike | None = None,
    threads: int = 1,
    runs: int = 30,
    seed: int = 0,
    progress=lambda it: it,
):
    """`archc export --quantize int8` after `export(...)` wrote `fp32_path`: returns an
    `Int8Report` (`.path` is the int8 file, None when int8 was not faster); raises
    `QuantizeError` or, for `lut`, `LatencyTableError` (docs/deployment.md)."""
    from archc.compiler.backends.onnx.quantize import QuantizeOptions
    from archc.compiler.cost.latency_table import LatencyTable
    from archc.runtime.deploy.int8 import quantize_export

    return quantize_export(
        _space(space_or_path),
        fp32_path,
        calibrate,
        config,
        images=images,
        options=QuantizeOptions(method, per_channel),
        table=LatencyTable.load(lut) if lut is not None else None,
        threads=threads,
        runs=runs,
        seed=seed,
        progress=progress,
    )


def evaluate(model_path: str | os.PathLike, data: str | os.PathLike, **options) -> dict:
    """COCO AP/AR of an archc ONNX export (float32 or int8) run in onnxruntime:
    `archc eval --onnx`; options as `runtime.deploy.onnx_pose.evaluate_onnx`."""
    from archc.runtime.deploy.onnx_pose import evaluate_onnx

    return evaluate_onnx(model_path, data, **options)
