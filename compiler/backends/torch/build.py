"""`build_module`: a fixed network (no choices left) as a plain `nn.Module`, each op's
module made by its record's `plain` (`archc.runtime.ops`).

Module names mirror the `.arch` names: the op `s2.blocks[0].mbconv.conv` lives
at `self.net["s2"]["blocks[0]"]["mbconv"]["conv"]`, so the state-dict key of
its weight is `net.s2.blocks[0].mbconv.conv.weight` — derived deterministically
from the source, which keeps checkpoints loadable. Nodes that share weights
(`scope f[1] shares weights with f[0]`) share one module, found by weight name;
a derived sharer whose module differs has its own (see `weight_sharing`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import networkx as nx
import torch
from torch import nn

from archc.compiler.ir import IRNode, facts, input_ids
from archc.kernel.symbolic import is_symbolic
from archc.runtime.ops.record import get as record_of


class FixedNet(nn.Module):
    """Runs the IR's ops in order; returns one tensor, or a dict for several outputs."""

    def __init__(self, graph: nx.MultiDiGraph):
        super().__init__()
        self.net = nn.ModuleDict()
        self.input_names = list(facts(graph).inputs)
        self.output_names = list(facts(graph).outputs)
        self._inputs = dict(facts(graph).inputs)
        self._outputs = dict(facts(graph).outputs)
        self._plan: list[tuple[int, tuple[str, ...], list[int]]] = []
        # module path -> the supernet path its weights are sliced from, where they differ
        self.weight_sources = {
            name_segments(name): name_segments(source)
            for name, source in (facts(graph).weight_sources or {}).items()
        }
        for n in sorted(graph.nodes):
            node: IRNode = graph.nodes[n]["ir"]
            if node.kind == "input":
                continue
            if node.kind != "op":
                raise ValueError(
                    f"`{node.name}` is a {node.kind}: derive a subnet first "
                    "(space.derive(config)) or build a supernet"
                )
            path = name_segments(node.weight_name)
            self._place(path, graph, n, node)
            self._plan.append((n, path, input_ids(graph, n)))

    def _place(self, path: tuple[str, ...], graph, n: int, node: IRNode) -> None:
        holder = parent_dict(self.net, path)
        if path[-1] in holder:
            return  # a node that shares its weights with one built before
        shapes = [graph.nodes[i]["ir"].shape for i in input_ids(graph, n)]
        if is_symbolic(tuple(node.attrs.values())) or is_symbolic(tuple(shapes)):
            raise ValueError(f"`{node.name}` still depends on choices: derive a subnet first")
        holder[path[-1]] = record_of(node.op).plain(dict(node.attrs), shapes)

    def module_at(self, path: tuple[str, ...]) -> nn.Module:
        return module_at(self.net, path)

    def forward(self, *args: torch.Tensor, **kwargs: torch.Tensor):
        values = self._bind(args, kwargs)
        for n, path, inputs in self._plan:
            values[n] = self.module_at(path)(*(values[i] for i in inputs))
        if len(self._outputs) == 1:
            return values[next(iter(self._outputs.values()))]
        return {name: values[n] for name, n in self._outputs.items()}

    def _bind(self, args: tuple, kwargs: Mapping[str, torch.Tensor]) -> dict[int, torch.Tensor]:
        if len(args) + len(kwargs) != len(self._inputs):
            raise TypeError(
                f"expected inputs {self.input_names}, got {len(args)} positional "
                f"and {sorted(kwargs)}"
            )
        named = dict(zip(self.input_names, args, strict=False)) | dict(kwargs)
        return {self._inputs[name]: tensor for name, tensor in named.items()}


def parent_dict(root: nn.ModuleDict, path: tuple[str, ...]) -> nn.ModuleDict:
    """The ModuleDict that holds `path[-1]`, creating the nested dicts on the way."""
    holder = root
    for segment in path[:-1]:
        if segment not in holder:
            holder[segment] = nn.ModuleDict()
        holder = holder[segment]
    return holder


def module_at(root: nn.ModuleDict, path: tuple[str, ...]) -> nn.Module:
    holder: Any = root
    for segment in path:
        holder = holder[segment]
    return holder


@functools.lru_cache(maxsize=65536)
def name_segments(name: str) -> tuple[str, ...]:
    """`s2.blocks[0].conv` -> ("s2", "blocks[0]", "conv"); dots inside [] do not split."""
    parts, depth, current = [], 0, ""
    for ch in name:
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (ch == "[") - (ch == "]")
        current += ch
    return (*parts, current)


def build_module(space_or_graph: Any) -> FixedNet:
    """A plain module for a space without choices (a `net`, or `space.derive(config)`)."""
    graph = space_or_graph if isinstance(space_or_graph, nx.Graph) else space_or_graph.graph
    if facts(graph).choices:
        raise ValueError(
            f"`{facts(graph).name}` has {len(facts(graph).choices)} choices: "
            "build `space.derive(config)`, or a supernet"
        )
    return FixedNet(graph)
