"""`archc export --quantize int8`: a calibrated int8 model that is never slower than
the float32 one it comes from.

1. Calibration crops: N training images of DIR with exactly the preprocessing of
   training's evaluation (the same crop, scale and normalisation, no augmentation).
2. Mixed precision by measurement: every unit of the subnet (a conv with its fused
   BatchNorm and activation, or a single op) is timed in float32 and quantized on
   this CPU, with these threads, or read from an int8 latency table
   (`archc lut --quantize int8`); from those timings, whole-model trials per class
   of units choose what stays in float32 (`mixed.refine`).
3. The whole model is quantized (onnxruntime, QDQ), then timed against float32;
   when it is still not faster, no int8 file is written and the report says why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archc.compiler.backends.onnx.lut import machine_description, unit_latency
from archc.compiler.backends.onnx.quantize import (
    MIN_CALIBRATION,
    QuantizeError,
    QuantizeOptions,
    check_int8_kernels,
    fp32_node_names,
    quantize,
)
from archc.compiler.backends.onnx.runner import Timing, ort_latency
from archc.compiler.cost.latency_table import LatencyTable, graph_units, spec_key, unit_spec
from archc.kernel.files import write_atomic
from archc.runtime.deploy.mixed import Decision, refine, unit_class
from archc.runtime.train.config import NetGeometry, TrainConfig

Progress = Callable[[Iterable], Iterable]


@dataclass(frozen=True)
class UnitTiming:
    name: str  # the IR name of the unit's first op
    kind: str  # its class, e.g. "conv+bn+relu 3x3" (`mixed.unit_class`)
    nodes: tuple[str, ...]  # IR names of every op in the unit
    fp32_ms: float
    int8_ms: float


@dataclass
class Int8Report:
    path: Path | None  # None: nothing written, int8 was not faster
    fp32: Timing
    int8: Timing
    units: list[UnitTiming] = field(default_factory=list)
    decisions: dict[str, Decision] = field(default_factory=dict)  # unit name -> precision
    calibration_crops: int = 0

    @property
    def speedup(self) -> float:
        return self.fp32.median_ms / self.int8.median_ms

    @property
    def kept_fp32(self) -> list[tuple[UnitTiming, str]]:
        """(unit, why) of every unit left in float32."""
        return [(u, self.decisions[u.name].reason) for u in self.units if not self.int8_of(u)]

    def int8_of(self, unit: UnitTiming) -> bool:
        return self.decisions[unit.name].int8

    def to_json(self) -> dict:
        return {
            "int8_file": str(self.path) if self.path else None,
            "latency_ms": {"float32": self.fp32.median_ms, "int8": self.int8.median_ms},
            "calibration_crops": self.calibration_crops,
            "units": [
                {
                    "name": u.name,
                    "class": u.kind,
                    "precision": "int8" if self.int8_of(u) else "float32",
                    "why": self.decisions[u.name].reason,
                    "alone_ms": {"float32": u.fp32_ms, "int8": u.int8_ms},
                }
                for u in self.units
            ],
        }


def int8_path(output: str | os.PathLike) -> Path:
    """`model.onnx` -> `model.int8.onnx`, beside it."""
    path = Path(output)
    return path.with_name(f"{path.stem}.int8{path.suffix or '.onnx'}")


def calibration_feeds(
    data_dir: str | os.PathLike,
    geometry: NetGeometry,
    input_name: str,
    images: int,
    seed: int = 0,
    batch: int = 8,
) -> tuple[list[dict[str, np.ndarray]], int]:
    """(feeds, crops): `images` unaugmented training crops of `data_dir` for a net of
    `geometry`, in batches; a `QuantizeError` when the split has too few."""
    import torch

    from archc.runtime.train import TrainError
    from archc.runtime.train.data import calibration_batches, find_split, load_split

    try:
        split = load_split(
            find_split(data_dir, "train"), geometry, TrainConfig(data=str(data_dir)),
            train=False, limit=None,
        )  # fmt: skip
    except TrainError as err:
        raise QuantizeError(f"calibration data: {err}") from None
    available = len(split.indices)
    if available < MIN_CALIBRATION or images < MIN_CALIBRATION:
        raise QuantizeError(
            f"int8 calibration needs at least {MIN_CALIBRATION} crops; {data_dir}'s train "
            f"split has {available} persons and --calibration-images is {images}"
        )
    batches = calibration_batches(split, images, batch, seed, torch.device("cpu"))
    crops = sum(len(b) for b in batches)
    return [{input_name: b.numpy()} for b in batches], crops


def unit_timings(
    graph,
    threads: int,
    runs: int,
    table: LatencyTable | None = None,
    progress: Progress = lambda it: it,
) -> list[UnitTiming]:
    """Float32 and int8 milliseconds of every unit of a fixed graph: from `table`,
    which must be an int8 table measured here with `threads` (`check_table`; its
    missing units are measured), else measured now (each distinct unit once)."""
    if table is not None:
        check_table(table, threads)
    units = graph_units(graph)
    specs = [unit_spec(graph, unit, {}) for unit in units]
    pairs = dict(table.pairs) if table is not None else {}
    for spec in progress([s for s in {spec_key(s): s for s in specs}.values()]):
        key = spec_key(spec)
        if key not in pairs:
            pairs[key] = [unit_latency(spec, threads, runs, int8) for int8 in (False, True)]
    out = []
    for unit, spec in zip(units, specs, strict=True):
        names = tuple(graph.nodes[n]["ir"].name for n in unit.nodes)
        fp32, int8 = pairs[spec_key(spec)]
        out.append(UnitTiming(names[0], unit_class(spec), names, fp32, int8))
    return out


def check_table(table: LatencyTable, threads: int) -> None:
    """An int8 table measured elsewhere would choose precisions for another CPU."""
    if table.precision != "int8":
        raise QuantizeError("--lut must be an int8 table (`archc lut --quantize int8`)")
    if table.machine != machine_description() or table.threads != threads:
        raise QuantizeError(
            f"the int8 table was measured on {table.machine.get('cpu')} with "
            f"{table.threads} thread(s), not on this machine with {threads}: measure it here"
        )


def deploy_int8(
    fp32: bytes,
    output: str | os.PathLike,
    feeds: list[dict[str, np.ndarray]],
    units: list[UnitTiming],
    options: QuantizeOptions | None = None,
    threads: int = 1,
    runs: int = 30,
    progress: Progress = lambda it: it,
) -> Int8Report:
    """Choose each unit's precision (`mixed.refine`), quantize `fp32` calibrated on
    `feeds`, time both models, and write the int8 one to `int8_path(output)` only
    when it is faster; its report beside it as JSON either way."""
    shapes = {name: (1, *array.shape[1:]) for name, array in feeds[0].items()}
    decisions = refine(fp32, units, shapes, threads, runs, progress)
    names = [n for u in units if not decisions[u.name].int8 for n in u.nodes]
    keep = fp32_node_names(fp32, names)
    int8 = quantize(fp32, feeds, options, keep_fp32=keep)
    fp32_time = ort_latency(fp32, shapes, threads, runs)
    int8_time = ort_latency(int8, shapes, threads, runs)
    crops = sum(len(next(iter(f.values()))) for f in feeds)
    report = Int8Report(None, fp32_time, int8_time, units, decisions, crops)
    if int8_time.median_ms < fp32_time.median_ms:
        report.path = write_atomic(int8_path(output), int8)
    doc = json.dumps(report.to_json(), indent=1)
    write_atomic(int8_path(output).with_suffix(".json"), doc + "\n")
    return report


def quantize_export(
    space,
    fp32_path: str | os.PathLike,
    calibrate: str | os.PathLike,
    config=None,
    *,
    images: int = 128,
    options: QuantizeOptions | None = None,
    table: LatencyTable | None = None,
    threads: int = 1,
    runs: int = 30,
    seed: int = 0,
    progress: Progress = lambda it: it,
) -> Int8Report:
    """The int8 model of the float32 export at `fp32_path` (of `config`'s subnet of
    `space`), calibrated on `images` training crops of `calibrate`: the whole of
    `archc export --quantize int8` after the float32 export (`QuantizeError`s)."""
    from archc.runtime.deploy.onnx_pose import read_archc_onnx

    check_int8_kernels()
    export = read_archc_onnx(fp32_path)
    feeds, _ = calibration_feeds(calibrate, export.geometry, export.input_name, images, seed)
    graph = space.derive(config or space.default()).graph
    units = unit_timings(graph, threads, runs, table, progress)
    return deploy_int8(export.data, fp32_path, feeds, units, options, threads, runs, progress)


__all__ = [
    "Int8Report",
    "QuantizeError",
    "UnitTiming",
    "calibration_feeds",
    "check_table",
    "deploy_int8",
    "int8_path",
    "quantize_export",
    "unit_timings",
]
