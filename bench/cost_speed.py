"""Analytic cost of configs per second on the ViPNAS-MobileNetV3 space.

Builds the factorised cost model once (timed separately), samples configs, and
measures `model(config)` over them; also times `Space.cost` (which validates)
and the reference graph walk for comparison. Target: >= 20,000 configs/s.

    python bench/cost_speed.py [--configs N] [--seconds S]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import archc
from archc.compiler.cost.count import count_cost

SPACE = Path(__file__).resolve().parent.parent / "examples" / "spaces" / "vipnas_mbv3.arch"


def rate(fn, configs, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for config in configs:
            fn(config)
        done += len(configs)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    start = time.perf_counter()
    space = archc.load(SPACE)
    compiled = time.perf_counter() - start
    start = time.perf_counter()
    model = space.cost_model()
    built = time.perf_counter() - start
    configs = [space.sample(seed) for seed in range(args.configs)]
    fast = rate(model, configs, args.seconds)
    checked = rate(space.cost, configs, args.seconds)
    walk = rate(lambda c: count_cost(space.graph, c), configs[:20], args.seconds)
    print(f"space {space.name}: {len(space.choices)} choices, {space.size():,} configs")
    print(
        f"compile {compiled:.2f} s, cost model build {built:.2f} s "
        f"({len(model.tables)} tables, {len(model.direct)} direct terms)"
    )
    print(f"cost model          {fast:12,.0f} configs/s")
    print(f"Space.cost (checks) {checked:12,.0f} configs/s")
    print(f"graph walk          {walk:12,.0f} configs/s")
    print(f"model / walk ratio  {fast / walk:12,.0f}x")


if __name__ == "__main__":
    main()
