"""Latency lookup tables: what each unit of a subnet costs on one CPU, and the sum.

A *unit* is what onnxruntime executes as one kernel: a conv, deconv or linear
with the BatchNorm and the simple activation it is fused with, or any other
single op. Its *key* is its ops, resolved attributes and input shapes; the
table maps keys to measured milliseconds (`archc lut` fills it, with
onnxruntime, in `archc.compiler.backends.onnx.lut`). A config's predicted
latency is the sum over its active units plus one call's fixed overhead. This
module only reads tables, so `space.cost(config, lut=...)` needs no onnx.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from archc.compiler.decide import combinations
from archc.compiler.ir import IRNode, active_nodes, facts, input_ids
from archc.kernel.files import write_atomic
from archc.kernel.symbolic import ChoiceRef, deps_of, evaluate

FORMAT, VERSION = "archc-latency-table", 1
ANCHORS = ("conv", "deconv", "linear")
FUSED_ACTIVATIONS = ("relu", "relu6", "sigmoid", "hsigmoid")  # onnxruntime's FusedConv
FREE = ("skip",)  # no kernel runs
PRECISIONS = ("fp32", "int8")


class LatencyTableError(ValueError):
    """A table that cannot be read, or that lacks an entry a prediction needs."""


@dataclass(frozen=True)
class Unit:
    nodes: tuple[int, ...]  # the anchor first, then what is fused into it


def units(graph: nx.MultiDiGraph) -> list[Unit]:
    """The space's units in topological order of their anchors."""
    absorbed: set[int] = set()
    out = []
    for n in sorted(graph.nodes):
        node: IRNode = graph.nodes[n]["ir"]
        if n in absorbed or node.kind != "op" or node.op in FREE:
            continue
        members = [n]
        if node.op in ANCHORS:
            members += _epilogue(graph, n)
        absorbed.update(members)
        out.append(Unit(tuple(members)))
    return out


def _epilogue(graph: nx.MultiDiGraph, n: int) -> list[int]:
    chain, current = [], n
    for ops in (("bn",), FUSED_ACTIVATIONS):
        nxt = _sole_consumer(graph, current)
        if nxt is None or graph.nodes[nxt]["ir"].op not in ops:
            continue
        chain.append(nxt)
        current = nxt
    return chain


def _sole_consumer(graph: nx.MultiDiGraph, n: int) -> int | None:
    consumers = set(graph.successors(n))
    if len(consumers) != 1 or n in facts(graph).outputs.values():
        return None
    (c,) = consumers
    node: IRNode = graph.nodes[c]["ir"]
    return c if node.kind == "op" and input_ids(graph, c) == [n] else None


def unit_spec(graph: nx.MultiDiGraph, unit: Unit, config: Mapping[str, Any]) -> list:
    """[(op, attrs, input shapes), ...] of the unit under `config`, JSON-ready."""
    spec = []
    for n in unit.nodes:
        node: IRNode = graph.nodes[n]["ir"]
        attrs = {k: _plain(evaluate(v, config)) for k, v in sorted(node.attrs.items())}
        shapes = [list(evaluate(graph.nodes[i]["ir"].shape, config)) for i in input_ids(graph, n)]
        spec.append([node.op, attrs, shapes])
    return spec


def spec_key(spec: list) -> str:
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def unit_deps(graph: nx.MultiDiGraph, unit: Unit) -> frozenset[str]:
    """The choices a unit's spec (its attributes and input shapes) depends on."""
    deps: set[str] = set()
    for n in unit.nodes:
        deps |= deps_of(tuple(graph.nodes[n]["ir"].attrs.values()))
        for i in input_ids(graph, n):
            deps |= deps_of(graph.nodes[i]["ir"].shape)
    return frozenset(deps)


def possible_specs(graph: nx.MultiDiGraph, unit: Unit) -> Iterator[list] | None:
    """Every spec the unit can have over the space, or None when too many configs."""
    deps = unit_deps(graph, unit)
    choices = {c.name: c for c in facts(graph).choices}
    configs = combinations(tuple(ChoiceRef(name=d, type="any") for d in sorted(deps)), choices)
    if configs is None:
        return None
    return (unit_spec(graph, unit, c) for c in configs)


@dataclass
class LatencyTable:
    """Measured milliseconds per unit key on one machine, with how they were measured."""

    machine: dict[str, Any]
    threads: int
    overhead_ms: float = 0.0
    entries: dict[str, float] = field(default_factory=dict)
    spaces: dict[str, str] = field(default_factory=dict)  # space name -> IR fingerprint
    # "int8": each entry is the unit as the mixed-precision export deploys it, the
    # faster of its int8 and float32 kernels; `pairs` keeps both (key -> [fp32, int8])
    precision: str = "fp32"
    pairs: dict[str, list[float]] = field(default_factory=dict)

    def keeps_fp32(self, key: str) -> bool:
        """Whether the unit of `key` stays float32 in a mixed-precision export: its
        int8 kernel was not faster on this machine (an fp32 table keeps every unit)."""
        pair = self.pairs.get(key)
        return pair is None or not pair[1] < pair[0]

    def predict(
        self, graph: nx.MultiDiGraph, config: Mapping[str, Any], scope: str | None = None
    ) -> float:
        """Predicted milliseconds of `config`'s subnet of `graph` (only the units inside
        `scope`, without the call overhead, when a scope is given)."""
        active = set(active_nodes(graph, config))
        total = self.overhead_ms if scope is None else 0.0
        for unit in graph_units(graph):
            name = graph.nodes[unit.nodes[0]]["ir"].name
            if unit.nodes[0] in active and (scope is None or name.startswith(scope + ".")):
                total += self.lookup(unit_spec(graph, unit, config), graph)
        return total

    def lookup(self, spec: list, graph: nx.MultiDiGraph | None = None) -> float:
        key = spec_key(spec)
        if key not in self.entries:
            space = f" of `{facts(graph).name}`" if graph is not None else ""
            raise LatencyTableError(
                f"the latency table has no entry for {spec[0][0]} "
                f"{spec[0][1]} on {spec[0][2]}{space}: rebuild it with "
                "`archc lut FILE -o TABLE`"
            )
        return self.entries[key]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "machine": self.machine,
                "threads": self.threads,
                "overhead_ms": self.overhead_ms,
                "spaces": self.spaces,
                "precision": self.precision,
                "entries": self.entries,
                **({"pairs": self.pairs} if self.pairs else {}),
            },
            indent=1,
        )

    def save(self, path: str | os.PathLike) -> Path:
        return write_atomic(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> LatencyTable:
        file = Path(path)
        try:
            data = json.loads(file.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise LatencyTableError(f"{file}: no such latency table") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise LatencyTableError(f"{file}: not a readable latency table ({err})") from None
        except RecursionError:
            raise LatencyTableError(f"{file}: not a latency table (nested too deeply)") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LatencyTableError(f"{file}: not an archc latency table")
        if data.get("version") != VERSION:
            raise LatencyTableError(
                f"{file}: latency table version {data.get('version')!r} "
                f"is not supported (this archc reads {VERSION})"
            )
        if data.get("precision", "fp32") not in PRECISIONS:
            raise LatencyTableError(
                f"{file}: unknown precision {data.get('precision')!r} "
                f"(one of {', '.join(PRECISIONS)})"
            )
        return cls(
            data["machine"],
            data["threads"],
            data.get("overhead_ms", 0.0),
            dict(data["entries"]),
            dict(data.get("spaces", {})),
            data.get("precision", "fp32"),
            dict(data.get("pairs", {})),
        )


_UNITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


_LOADED: dict[Path, tuple[tuple[int, int], LatencyTable]] = {}
MAX_LOADED = 8  # tables kept read; a search reads one


def as_table(lut: LatencyTable | str | os.PathLike) -> LatencyTable:
    """A latency table, or the one saved at path `lut`, read once while the file is
    unchanged (its modification time and size). The table read is shared by every
    caller: treat it as read-only."""
    if isinstance(lut, LatencyTable):
        return lut
    path = Path(lut)
    try:
        stat = path.stat()
        key = path.resolve()
    except OSError:
        return LatencyTable.load(path)  # raises the readable error
    stamp = (stat.st_mtime_ns, stat.st_size)
    hit = _LOADED.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    table = LatencyTable.load(path)
    if len(_LOADED) >= MAX_LOADED:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = (stamp, table)
    return table


def graph_units(graph: nx.MultiDiGraph) -> list[Unit]:
    """`units(graph)`, computed once per graph object."""
    if graph not in _UNITS:
        _UNITS[graph] = units(graph)
    return _UNITS[graph]
