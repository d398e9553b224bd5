"""onnxruntime (1 thread) against torch eager (1 thread) on derived subnets.

For each network: export it in memory, then time a batch-1 forward in both
engines, interleaved in rounds so that machine noise hits both alike; prints
the medians and their ratio (target: onnxruntime at least 1.5x faster).

    python bench/onnx_speed.py [--rounds 10] [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import warnings
from pathlib import Path

import torch

import archc
from archc.compiler.backends.onnx.runner import ort_latency, time_calls
from archc.compiler.ir import input_shapes
from archc.compiler.space import Config
from archc.onnx import subnet_model

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
ROOT = Path(__file__).resolve().parent.parent
NETS = {
    "S-ViPNAS-MobileNetV3 (released)": (
        "examples/spaces/vipnas_mbv3.arch",
        "examples/spaces/vipnas_mbv3.released.json",
    ),
    "EfficientPose-A": ("examples/nets/efficientpose_a.arch", None),
}


def compare(space_path: str, config_path: str | None, rounds: int, runs: int):
    space = archc.load(ROOT / space_path)
    config = Config.load(ROOT / config_path) if config_path else None
    derived, module, data = subnet_model(space, config)
    shapes = input_shapes(derived.graph)
    x = [torch.randn(s) for s in shapes.values()]
    ort_ms, torch_ms = [], []
    with torch.inference_mode():
        for _ in range(rounds):
            ort_ms.append(ort_latency(data, shapes, 1, runs, 2).median_ms)
            torch_ms.append(time_calls(lambda: module(*x), runs, 2).median_ms)
    return statistics.median(ort_ms), statistics.median(torch_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, (space, config) in NETS.items():
        ort_ms, torch_ms = compare(space, config, args.rounds, args.runs)
        print(
            f"{name:34s} onnxruntime {ort_ms:7.2f} ms   torch eager {torch_ms:7.2f} ms   "
            f"ratio torch/onnxruntime {torch_ms / ort_ms:.2f}x (1 thread, batch 1)"
        )


if __name__ == "__main__":
    main()
