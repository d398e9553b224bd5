"""onnxruntime (1 thread) against torch eager (1 thread) on derived subnets.

For each network: export it in memory, then time a batch-1 forward in both
engines, interleaved in rounds so that machine noise hits both alike; prints
the medians and their ratio (target: onnxruntime at least 1.5x faster).

    python bench/onnx_speed.py [--rounds 10] [--runs 10]
    python bench/onnx_speed.py --int8 [--runs 20]

With --int8: float32 against int8 in onnxruntime (1 thread, batch 1) for
SimpleBaseline-R50, S-ViPNAS-MobileNetV3, EfficientPose-A and tiny: every unit
quantized ("all int8"), and the mixed precision `archc export --quantize int8`
chooses by measurement ("deployed": the mixed model when it is faster, else the
float32 one). Calibrated on seeded random crops: latency does not depend on the
activation ranges (accuracy does: see docs/deployment.md for the AP drop).
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


INT8_NETS = {
    "SimpleBaseline-R50": ("examples/nets/simplebaseline_r50.arch", None),
    **NETS,
    "tiny": ("examples/nets/tiny.arch", None),
}


def compare_int8(space_path: str, config_path: str | None, runs: int) -> dict[str, float]:
    """Median ms of float32, all-int8, and the mixed model of the deployed choice."""
    import tempfile

    from archc.compiler.backends.onnx.quantize import quantize, random_batches
    from archc.runtime.deploy.int8 import deploy_int8, unit_timings

    space = archc.load(ROOT / space_path)
    config = Config.load(ROOT / config_path) if config_path else None
    derived, _, data = subnet_model(space, config)
    shapes = input_shapes(derived.graph)
    feeds = random_batches(shapes, 4)
    everything = quantize(data, feeds)
    units = unit_timings(derived.graph, 1, runs)
    with tempfile.TemporaryDirectory() as tmp:
        report = deploy_int8(data, Path(tmp) / "m.onnx", feeds, units, runs=runs)
    kept = len(report.kept_fp32)
    return {
        "fp32": ort_latency(data, shapes, 1, runs, 3).median_ms,
        "all": ort_latency(everything, shapes, 1, runs, 3).median_ms,
        "mixed": report.int8.median_ms,
        "mixed_fp32": report.fp32.median_ms,
        "deployed": min(report.int8.median_ms, report.fp32.median_ms),
        "int8_units": len(units) - kept,
        "units": len(units),
    }


def main_int8(runs: int) -> None:
    for name, (space, config) in INT8_NETS.items():
        r = compare_int8(space, config, runs)
        print(
            f"{name:34s} float32 {r['fp32']:7.2f} ms   all int8 {r['all']:7.2f} ms "
            f"({r['fp32'] / r['all']:.2f}x)   mixed {r['mixed']:7.2f} ms against "
            f"{r['mixed_fp32']:7.2f} ms ({r['mixed_fp32'] / r['mixed']:.2f}x, "
            f"{r['int8_units']} of {r['units']} units int8)   deployed "
            f"{r['mixed_fp32'] / r['deployed']:.2f}x",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--int8", action="store_true", help="float32 against int8 instead")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.int8:
        main_int8(max(args.runs, 20))
        return
    for name, (space, config) in NETS.items():
        ort_ms, torch_ms = compare(space, config, args.rounds, args.runs)
        print(
            f"{name:34s} onnxruntime {ort_ms:7.2f} ms   torch eager {torch_ms:7.2f} ms   "
            f"ratio torch/onnxruntime {torch_ms / ort_ms:.2f}x (1 thread, batch 1)"
        )


if __name__ == "__main__":
    main()
