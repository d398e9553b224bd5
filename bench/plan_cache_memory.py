"""Host memory of a supernet over many activations, and cold/warm `set_active` time.

A search activates thousands of configs; the supernet keeps the plans of the
`plan_cache_size` (256) most recently used. This activates N sampled configs of
vipnas_mbv3 and prints the resident memory every N/10 activations, the ratio of
the last to the one after the cache first fills (goal: flat within 2 %), and the
median cold (new config) and warm (cached config) activation time.

    python bench/plan_cache_memory.py [--n 10000] [--space examples/spaces/vipnas_mbv3.arch]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import archc
from archc.torch import build_supernet

ROOT = Path(__file__).resolve().parent.parent


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--space", default=str(ROOT / "examples/spaces/vipnas_mbv3.arch"))
    args = parser.parse_args()
    space = archc.load(args.space)
    net = build_supernet(space)
    configs = [space.sample(seed) for seed in range(args.n)]
    cold, marks = [], []
    for i, config in enumerate(configs, 1):
        start = time.perf_counter()
        net.set_active(config)
        cold.append(time.perf_counter() - start)
        if i % max(1, args.n // 10) == 0:
            marks.append((i, _rss_mib()))
            print(f"{i:>7} activations  RSS {marks[-1][1]:8.1f} MiB  plans kept {len(net._plans)}")
    warm = []
    for config in configs[-50:]:
        start = time.perf_counter()
        net.set_active(config)
        warm.append(time.perf_counter() - start)
    filled = next(m for i, m in marks if i >= net.plan_cache_size)
    print(f"RSS last / after the cache filled: {marks[-1][1] / filled:.3f}")
    print(
        f"set_active cold {statistics.median(cold) * 1e3:.2f} ms, "
        f"warm {statistics.median(warm) * 1e6:.0f} us (medians)"
    )


if __name__ == "__main__":
    main()
