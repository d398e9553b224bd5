"""The example spaces as pytest parameters. Spaces whose largest subnets take many
seconds per forward+backward on a 2-core CPU run their random-config properties only
in `make test-slow`; the default run checks their smallest subnet (`smallest_only`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archc.compiler.ir import input_shapes

ROOT = Path(__file__).resolve().parents[1]
SPACES = sorted((ROOT / "examples/spaces").glob("*.arch"))
HEAVY = frozenset(
    {
        "vipnas_res50",
        "vipnas_hrnet_w32",
        "vipnas_temporal",
        "posenfs_hrnet",
        "autopose",
        # float64 depthwise convs are slow on CPU: ~10 s (smallest) to ~22 s (largest) per
        # forward at 224x224; four random configs of the supernet test took 69 s
        "ofa_mbv3",
        "autoformer_tiny",  # 224x224 ViT subnets, 1.2-2.3 GMACs
    }
)


def space_params(heavy_slow: bool = True, fast: tuple[str, ...] | None = None) -> list:
    """Every example space; heavy ones marked slow (unless `heavy_slow` is False), or,
    with `fast`, every space but those (a property the fast ones already exercise)."""

    def slow(stem: str) -> bool:
        return stem not in fast if fast is not None else heavy_slow and stem in HEAVY

    return [
        pytest.param(p, id=p.stem, marks=pytest.mark.slow)
        if slow(p.stem)
        else pytest.param(p, id=p.stem)
        for p in SPACES
    ]


def heavy_params() -> list:
    return [pytest.param(p, id=p.stem) for p in SPACES if p.stem in HEAVY]


def input_tensors(space, batch: int = 1, dtype=None) -> dict:
    """A random tensor for every input of the space, by input name."""
    import torch

    return {
        name: torch.randn(shape, dtype=dtype)
        for name, shape in input_shapes(space.graph, batch).items()
    }


def latency_table_for(space, configs):
    """A latency table with an entry, a value of its own, for every unit the configs
    compute (and none for other units)."""
    import zlib

    from archc.compiler.cost.latency_table import LatencyTable, graph_units, spec_key, unit_spec
    from archc.compiler.ir import active_nodes

    entries = {}
    for config in configs:
        active = set(active_nodes(space.graph, config))
        for unit in graph_units(space.graph):
            if unit.nodes[0] in active:
                key = spec_key(unit_spec(space.graph, unit, config))
                entries[key] = zlib.crc32(key.encode()) % 10_000 / 1_000
    return LatencyTable({}, 1, 0.25, entries)
