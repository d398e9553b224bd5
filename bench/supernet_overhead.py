"""Training-step overhead of a subnet inside the supernet vs the same subnet standalone.

For each of N sampled configs of the space: forward+backward (batch 8,
3x256x192, CPU) of the supernet with the config active and of its derived
module, interleaved, several repeats each; prints the median of the per-config
time ratios (target <= 1.05) and the time of `set_active` on a cold and a warm
plan cache.

    python bench/supernet_overhead.py [--space examples/spaces/vipnas_mbv3.arch]
        [--configs 20] [--repeats 3] [--batch 8]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import torch

import archc
from archc.torch import build_supernet

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
ROOT = Path(__file__).resolve().parent.parent


def step_time(module, x, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        module(x).sum().backward()
        times.append(time.perf_counter() - start)
    module.zero_grad(set_to_none=True)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default=str(ROOT / "examples/spaces/vipnas_mbv3.arch"))
    parser.add_argument("--configs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    torch.manual_seed(0)
    space = archc.load(args.space)
    net = build_supernet(space, {"*": "sampled"}).train()
    x = torch.randn(args.batch, 3, 256, 192)
    configs = [space.sample(seed) for seed in range(args.configs)]
    cold = []
    for config in configs:
        start = time.perf_counter()
        net.set_active(config)
        cold.append(time.perf_counter() - start)
    warm = []
    ratios = []
    for config in configs:
        start = time.perf_counter()
        net.set_active(config)
        warm.append(time.perf_counter() - start)
        derived = net.derive(config).train()
        step_time(net, x, 1), step_time(derived, x, 1)  # warm-up
        ratios.append(step_time(net, x, args.repeats) / step_time(derived, x, args.repeats))
    print(
        f"space {space.name}, {args.configs} configs, batch {args.batch}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"supernet / derived fwd+bwd time, median over configs: {statistics.median(ratios):.3f}"
        f" (min {min(ratios):.3f}, max {max(ratios):.3f})"
    )
    print(
        f"set_active cold {statistics.median(cold) * 1e3:.1f} ms, "
        f"warm {statistics.median(warm) * 1e6:.0f} us (medians)"
    )


if __name__ == "__main__":
    main()
