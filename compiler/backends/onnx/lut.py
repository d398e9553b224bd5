"""Measuring a latency table with onnxruntime on this CPU, and calibrating it.

Every distinct unit (see `archc.compiler.cost.latency_table`) that occurs anywhere
in the space becomes a one-unit ONNX model with seeded weights, timed in
onnxruntime; a one-op model's time is the fixed cost of a call, which is
subtracted from each entry and counted once per prediction. A table is reused:
entries measured on the same machine with the same thread count are kept, and
only the missing keys are measured.
"""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import networkx as nx
import onnxruntime as ort

from archc.compiler.backends.onnx.builder import random_weights, to_onnx
from archc.compiler.backends.onnx.quantize import fp32_node_names, quantize, random_batches
from archc.compiler.backends.onnx.runner import ort_latency
from archc.compiler.cost.latency_table import (
    LatencyTable,
    graph_units,
    possible_specs,
    spec_key,
    unit_spec,
)
from archc.compiler.ir import IRNode, SpaceFacts, input_shapes
from archc.compiler.serialize import ir_fingerprint
from archc.kernel.span import NOWHERE

SAMPLED_CONFIGS = 2_000  # for units whose values span too many configs to enumerate


def machine_description() -> dict[str, str | int]:
    """What makes latencies comparable: CPU model, core count, runtime version."""
    return {
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "cores": os.cpu_count() or 0,
        "system": platform.system(),
        "onnxruntime": ort.__version__,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def space_specs(space) -> tuple[dict[str, list], bool]:
    """{key: spec} of every unit value in the space; complete=False where sampled."""
    graph, specs, complete = space.graph, {}, True
    for unit in graph_units(graph):
        found = possible_specs(graph, unit)
        if found is None:
            complete = False
            rng = random.Random(0)
            found = (unit_spec(graph, unit, space.sample(rng)) for _ in range(SAMPLED_CONFIGS))
        for spec in found:
            specs.setdefault(spec_key(spec), spec)
    return specs, complete


def unit_model(spec: list) -> bytes:
    """A one-unit ONNX model: inputs of the first op's shapes, the ops chained."""
    graph = nx.MultiDiGraph()
    inputs: dict[str, int] = {}
    first_shapes = spec[0][2]
    for port, shape in enumerate(first_shapes):
        graph.add_node(port, ir=_node(port, "input", None, {}, tuple(shape)))
        inputs[f"x{port}"] = port
    previous = list(range(len(first_shapes)))
    for i, (op, attrs, _) in enumerate(spec):
        n = len(first_shapes) + i
        out_shape = tuple(spec[i + 1][2][0]) if i + 1 < len(spec) else None  # not needed
        graph.add_node(n, ir=_node(n, "op", op, attrs, out_shape))
        for port, src in enumerate(previous):
            graph.add_edge(src, n, key=port)
        previous = [n]
    graph.graph["facts"] = SpaceFacts("unit", inputs=inputs, outputs={"y": previous[0]})
    return to_onnx(graph, random_weights()).SerializeToString()


def _node(n: int, kind: str, op: str | None, attrs: dict, shape: tuple | None) -> IRNode:
    attrs = {k: tuple(v) if isinstance(v, list) else v for k, v in attrs.items()}
    return IRNode(n, kind, op, f"u{n}", f"u{n}", attrs, True, shape, shape, NOWHERE)


@dataclass(frozen=True)
class BuildReport:
    table: LatencyTable
    measured: int
    reused: int
    complete: bool


def build_lut(
    space,
    threads: int = 1,
    runs: int = 20,
    existing: LatencyTable | None = None,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
    precision: str = "fp32",
) -> BuildReport:
    """Measure every unit of `space` missing from `existing` (if it fits this machine
    and precision). An int8 table times each unit in float32 and quantized, and keeps
    the faster, as the mixed-precision export deploys it."""
    machine = machine_description()
    fits = (
        existing is not None
        and existing.machine == machine
        and existing.threads == threads
        and existing.precision == precision
    )
    table = existing if fits else LatencyTable(machine, threads, precision=precision)
    if not fits or not table.overhead_ms:
        table.overhead_ms = _overhead(threads, runs)
    specs, complete = space_specs(space)
    missing = [key for key in specs if key not in table.entries]
    for key in progress(missing):
        fp32 = unit_latency(specs[key], threads, runs) - table.overhead_ms
        if precision == "int8":
            int8 = unit_latency(specs[key], threads, runs, int8=True) - table.overhead_ms
            table.pairs[key] = [max(fp32, 0.0), max(int8, 0.0)]
            fp32 = min(fp32, int8)
        table.entries[key] = max(fp32, 0.0)
    table.spaces[space.name] = ir_fingerprint(space.graph)
    return BuildReport(table, len(missing), len(specs) - len(missing), complete)


def unit_latency(spec: list, threads: int, runs: int, int8: bool = False) -> float:
    """Median milliseconds of one call of the unit's model (quantized with seeded
    calibration batches when `int8`: its speed, not its accuracy, is measured)."""
    model = unit_model(spec)
    if int8:
        model = quantize(model, random_batches(_shapes(spec)))
    return ort_latency(model, _shapes(spec), threads, runs, 3).median_ms


def _shapes(spec: list) -> dict[str, tuple[int, ...]]:
    return {f"x{i}": (1, *shape) for i, shape in enumerate(spec[0][2])}


def _overhead(threads: int, runs: int) -> float:
    spec = [["skip", {}, [[1, 1, 1]]]]
    return ort_latency(unit_model(spec), _shapes(spec), threads, runs * 5, 10).median_ms


def is_current(table: LatencyTable, space, threads: int, precision: str = "fp32") -> bool:
    """True when `table` was measured here, with `threads` and `precision`, for this
    version of the space."""
    return (
        table.machine == machine_description()
        and table.threads == threads
        and table.precision == precision
        and table.spaces.get(space.name) == ir_fingerprint(space.graph)
    )


@dataclass(frozen=True)
class Calibration:
    predicted_ms: tuple[float, ...]
    measured_ms: tuple[float, ...]
    spearman: float
    mape: float  # mean absolute percentage error, in percent


def calibrate(
    space,
    table: LatencyTable,
    configs: int = 20,
    runs: int = 20,
    seed: int = 0,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> Calibration:
    """Predicted against measured whole-subnet latency for random configs."""
    rng = random.Random(seed)
    picks = [space.sample(rng) for _ in range(configs)] if space.choices else [{}]
    predicted, measured = [], []
    for config in progress(picks):
        derived = space.derive(config)
        data = to_onnx(derived.graph, random_weights(seed)).SerializeToString()
        shapes = input_shapes(derived.graph)
        if table.precision == "int8":  # as the mixed-precision export deploys it
            keep = fp32_node_names(data, kept_fp32(derived.graph, table))
            data = quantize(data, random_batches(shapes), keep_fp32=keep)
        measured.append(ort_latency(data, shapes, table.threads, runs, 3).median_ms)
        predicted.append(table.predict(space.graph, config))
    mape = 100 * sum(abs(p - m) / m for p, m in zip(predicted, measured, strict=True))
    return Calibration(
        tuple(predicted), tuple(measured), spearman(predicted, measured), mape / len(measured)
    )


def kept_fp32(graph: nx.MultiDiGraph, table: LatencyTable) -> list[str]:
    """IR names of the nodes of a fixed graph's units that stay float32 under `table`
    (an int8 table's unit whose int8 kernel was not faster; a unit missing from it)."""
    names = []
    for unit in graph_units(graph):
        if table.keeps_fp32(spec_key(unit_spec(graph, unit, {}))):
            names += [graph.nodes[n]["ir"].name for n in unit.nodes]
    return names


def spearman(a: list[float], b: list[float]) -> float:
    """Rank correlation (average ranks for ties); 1.0 for fewer than two points."""
    if len(a) < 2:
        return 1.0
    ra, rb = _ranks(a), _ranks(b)
    mean = (len(a) + 1) / 2
    cov = sum((x - mean) * (y - mean) for x, y in zip(ra, rb, strict=True))
    var = (sum((x - mean) ** 2 for x in ra) * sum((y - mean) ** 2 for y in rb)) ** 0.5
    return cov / var if var else 1.0


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks
