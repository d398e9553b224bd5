"""`archc.onnx`: deployment of derived subnets with ONNX and onnxruntime (CPU).

`export(space_or_path, output, config=None, ...)` writes one self-contained
ONNX file of a subnet, checked and compared against torch; `latency(...)`
times a subnet in onnxruntime; `build_lut` / `load_lut` measure and reuse the
per-op latency table behind `space.cost(config, lut=...)`.
"""

from __future__ import annotations

import os
from typing import Any

from archc.compiler.backends.onnx.export import ExportError, ExportReport, frozen_subnet, to_model
from archc.compiler.backends.onnx.export import export as _export
from archc.compiler.backends.onnx.runner import Timing, ort_latency
from archc.compiler.ir import input_shapes

__all__ = ["ExportError", "ExportReport", "Timing", "export", "latency", "subnet_model"]


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
