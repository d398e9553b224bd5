"""Calls per second of the `Space` contract that every search driver stands on.

Prints, on one space (default vipnas_mbv3) and from one run, configs per second of
`sample`, `mutate`, `crossover`, `encode` + `decode`, `canonical`, `feasible`, `cost`
(one config per call) and `cost_many` (one batch of `--batch` configs per call), both
also with a latency table (every unit of the space, synthetic milliseconds), and the
ratio of `cost_many` to `cost`. Machines are noisy: compare ratios, not seconds.

    python bench/space_speed.py [--space FILE] [--configs 2000] [--batch 2000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path

import archc

ROOT = Path(__file__).resolve().parent.parent


def rate(fn: Callable[[int], object], n: int, per_call: int = 1, seconds: float = 1.0) -> float:
    """Items per second of `fn(i)` for i = 0, 1, ... (each call handles `per_call` items)."""
    done, start = 0, time.perf_counter()
    while True:
        for i in range(n):
            fn(i)
        done += n * per_call
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def measure(space, configs: list, batch: int) -> dict[str, float]:
    rng = random.Random(0)
    n = len(configs)
    has_contract = hasattr(space, "mutate")  # Space before issue 19 kept these on the table
    variation = space if has_contract else space.table
    macs = space.cost_range().macs
    limits = {"macs": (macs[0] + macs[1]) / 2}
    rows = {
        "sample": rate(lambda i: space.sample(rng), n),
        "mutate": rate(lambda i: variation.mutate(configs[i], rng), n),
        "crossover": rate(lambda i: variation.crossover(configs[i], configs[i - 1], rng), n),
        "encode+decode": rate(lambda i: space.decode(space.encode(configs[i])), n),
        "canonical": rate(lambda i: space.canonical(configs[i]), n),
        "cost": rate(lambda i: space.cost(configs[i]), n),
    }
    if has_contract:
        rows["feasible"] = rate(lambda i: space.feasible(configs[i], max_macs=limits["macs"]), n)
    chunks = [configs[i : i + batch] for i in range(0, n, batch)]
    rows["cost_many"] = rate(lambda i: space.cost_many(chunks[i]), len(chunks), per_call=batch)
    lut = synthetic_table(space)
    space.cost_many(configs[:10], lut=lut)  # build the latency model outside the timing
    rows["cost (lut)"] = rate(lambda i: space.cost(configs[i], lut=lut), min(n, 200))
    many = lambda i: space.cost_many(chunks[i], lut=lut)  # noqa: E731
    rows["cost_many (lut)"] = rate(many, len(chunks), per_call=batch)
    return rows


def synthetic_table(space):
    """A latency table with an entry for every unit spec the space can have."""
    import zlib

    try:
        from archc.compiler.cost import latency_table as tables
    except ImportError:  # before issue 19 the module was archc.compiler.cost.latency_table
        from archc.compiler import latency_table as tables
    entries = {}
    for unit in tables.graph_units(space.graph):
        for spec in tables.possible_specs(space.graph, unit):
            key = tables.spec_key(spec)
            entries[key] = zlib.crc32(key.encode()) % 1000 / 100
    return tables.LatencyTable({}, 1, 0.3, entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default=str(ROOT / "examples/spaces/vipnas_mbv3.arch"))
    parser.add_argument("--configs", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    space = archc.load(args.space)
    configs = [space.sample(seed) for seed in range(args.configs)]
    space.cost_many(configs[:10])  # build the tables outside the timing
    rows = measure(space, configs, min(args.batch, len(configs)))
    print(f"{Path(args.space).name}: {len(space.table)} choices")
    for name, per_s in rows.items():
        print(f"  {name:<14} {per_s:>12,.0f} configs/s")
    print(f"  cost_many / cost: {rows['cost_many'] / rows['cost']:.1f}x")


if __name__ == "__main__":
    main()
