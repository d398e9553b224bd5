"""The temporal contract: how the runtime reads a temporal space's inputs and outputs.

A temporal space (examples/spaces/vipnas_temporal.arch) has one heatmap input
(the key frame's maps, H^0), T image inputs (the non-key frames, in order) and T
heatmap outputs (H^1..H^T, in the same order); frame t reads H^{t-1} inside the
graph. The runtime needs to know which name is which without the user saying
it, so the rule is structural: the input whose shape equals the outputs' is the
key heatmaps, every [3, H, W] input is a frame, and frames and outputs are put
in order by their `[t]` index (`image[2]` before `image[10]`), else by the
order the file declares them. Anything else is a `TrainError` naming what was
found, before any data or weights are touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from archc.compiler.ir import facts
from archc.runtime.train.config import NetGeometry, TrainError

_INDEX = re.compile(r"\[(\d+)\]$")


def _ordered(names: list[str]) -> tuple[str, ...]:
    """Names by their trailing `[t]` index where all have one, else as declared."""
    indices = [_INDEX.search(n) for n in names]
    if all(indices):
        return tuple(n for _, n in sorted(zip((int(m[1]) for m in indices), names, strict=True)))
    return tuple(names)


@dataclass(frozen=True)
class TemporalContract:
    """Input and output names of a temporal space, and the geometry of one frame."""

    key_input: str
    frames: tuple[str, ...]  # image inputs, frame 1..T
    outputs: tuple[str, ...]  # heatmap outputs, frame 1..T
    geometry: NetGeometry  # of one frame; `frames` = T

    @property
    def length(self) -> int:
        """T, the number of propagated frames."""
        return len(self.frames)

    def inputs(self, key_maps: torch.Tensor, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """Keyword inputs of the space: key maps (B, K, h, w), frames (B, T, 3, H, W)."""
        named = {name: frames[:, t] for t, name in enumerate(self.frames)}
        return {self.key_input: key_maps, **named}

    def stack(self, outputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The outputs of one forward as (B, T, K, h, w), frame 1 first."""
        return torch.stack([outputs[name] for name in self.outputs], dim=1)


def propagate(model: Any, contract: TemporalContract, key_maps, frames) -> torch.Tensor:
    """One forward of the T propagation frames: (B, T, K, h, w) heatmaps."""
    return contract.stack(model(**contract.inputs(key_maps, frames)))


def temporal_contract(space: Any) -> TemporalContract:
    """The contract of a temporal space (a `Space`, with or without choices)."""
    graph = _graph_with_shapes(space)
    name = facts(graph).name
    inputs = {n: tuple(graph.nodes[i]["ir"].shape) for n, i in facts(graph).inputs.items()}
    outputs = {n: tuple(graph.nodes[i]["ir"].shape) for n, i in facts(graph).outputs.items()}
    shapes = set(outputs.values())
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise TrainError(
            f"`{name}` has outputs {_listed(outputs)}; a temporal space outputs one "
            "heatmap [K, h, w] per frame, all of one shape"
        )
    maps = next(iter(shapes))
    keys = [n for n, s in inputs.items() if s == maps]
    images = [n for n, s in inputs.items() if len(s) == 3 and s[0] == 3 and s != maps]
    other = [n for n in inputs if n not in keys and n not in images]
    if len(keys) != 1 or other or len(images) != len(outputs):
        raise TrainError(
            f"`{name}` has inputs {_listed(inputs)} and outputs {_listed(outputs)}; a "
            f"temporal space has one key-heatmap input shaped like its outputs "
            f"({list(maps)}), and one RGB image input [3, H, W] per heatmap output"
        )
    frame_shapes = {inputs[n] for n in images}
    if len(frame_shapes) != 1:
        raise TrainError(f"`{name}`: the frame inputs differ in shape: {_listed(inputs)}")
    (_, h, w) = next(iter(frame_shapes))
    geometry = NetGeometry(name, (h, w), (maps[1], maps[2]), maps[0], frames=len(images))
    return TemporalContract(keys[0], _ordered(images), _ordered(list(outputs)), geometry)


def _graph_with_shapes(space: Any) -> Any:
    """The space's graph when its inputs and outputs have fixed shapes (the usual case:
    choices change what is inside, not the ends), else its largest subnet's."""
    graph = getattr(space, "graph", space)
    ends = [*facts(graph).inputs.values(), *facts(graph).outputs.values()]
    shapes = [graph.nodes[i]["ir"].shape for i in ends]
    if all(isinstance(d, int) for shape in shapes for d in shape):
        return graph
    return space.derive(space.largest()).graph


def is_temporal(space: Any) -> bool:
    """Whether `space` has more than one input (the runtime then reads it as temporal)."""
    return len(facts(getattr(space, "graph", space)).inputs) > 1


def _listed(shapes: Mapping[str, tuple]) -> str:
    return ", ".join(f"{n} {list(s)}" for n, s in shapes.items()) or "none"
