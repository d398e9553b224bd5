"""Cost of a differentiable search against training the derived subnet alone (CPU).

For each space, at 3 x 128 x 96 (batch 8, synthetic batches: data loading is not
timed): the median time of a `darts` step (weight step + architecture step) and a
`sync` step of `DifferentiableStep` on the weighted supernet, and of a plain training
step of the derived (argmax) subnet. An epoch over N training images costs
N/B x step for sync and the subnet, and (1 - held_out) N/B x step for darts (its
architecture batches come from the held-out part), so the printed epoch ratios are

    darts: (1 - h) t_darts / t_subnet        sync: t_sync / t_subnet

Memory: bytes saved for backward by one training forward (activations; the
autograd graph's saved tensors) plus parameter bytes, of the weighted supernet
against the largest subnet (most MACs) and the derived one.

    python bench/differentiable_speed.py [--spaces darts_cell_demo posenfs_mobilenet]
        [--repeats 5] [--batch 8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import archc
from archc.runtime.search.drivers.differentiable import DifferentiableStep
from archc.runtime.train.step import PlainStep, StepContext
from archc.torch import build_module, build_supernet

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = 0.5


def load_at(name: str, height: int, width: int):
    """The example space with its input resized (text substitution of 256, 192)."""
    text = (ROOT / "examples" / "spaces" / f"{name}.arch").read_text()
    text = text.replace("[3, 256, 192]", f"[3, {height}, {width}]")
    folder = Path(tempfile.mkdtemp())
    (folder / f"{name}.arch").write_text(text)
    return archc.load(folder / f"{name}.arch")


def batch_for(module, shape, batch: int):
    images = torch.randn(batch, *shape)
    with torch.no_grad():
        out = module.eval()(images)
    module.train()
    return images, torch.rand_like(out), torch.ones(batch, out.shape[1], 1), {}


def median_step(step, batch, repeats: int) -> float:
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    ctx = StepContext(torch.device("cpu"), False, scaler, seed=0)
    ctx.held_out = lambda: batch
    step.step(batch, ctx)  # warm-up: plans, allocator
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step.step(batch, ctx)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def saved_bytes(module, images) -> int:
    """Bytes autograd keeps for backward in one training forward, plus parameters."""
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    module.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(images)
    return total + sum(p.numel() * p.element_size() for p in module.parameters())


def measure(name: str, args) -> None:
    space = load_at(name, 128, 96)
    torch.manual_seed(0)
    supernet = build_supernet(space)
    supernet.set_active(space.default())
    batch = batch_for(supernet, (3, 128, 96), args.batch)
    times = {}
    for mode, held in (("darts", HELD_OUT), ("sync", 0.0)):
        torch.manual_seed(0)
        net = build_supernet(space)
        step = DifferentiableStep(net, space.default(), mode=mode, epochs=1, held_out=held)
        times[mode] = median_step(step, batch, args.repeats)
    derived = build_module(space.derive(supernet.argmax_config(space.default())))
    times["subnet"] = median_step(PlainStep(derived), batch, args.repeats)
    largest = max((space.sample(s) for s in range(64)), key=lambda c: space.cost(c).macs)
    memory = {
        "supernet": saved_bytes(supernet, batch[0]),
        "largest of 64 sampled": saved_bytes(build_module(space.derive(largest)), batch[0]),
        "derived subnet": saved_bytes(derived, batch[0]),
    }
    print(f"{name} at 128x96, batch {args.batch}, {torch.get_num_threads()} threads")
    for key, value in times.items():
        print(f"  step {key:7s} {value * 1e3:8.1f} ms")
    print(f"  epoch ratio darts/subnet {(1 - HELD_OUT) * times['darts'] / times['subnet']:.2f}")
    print(f"  epoch ratio sync/subnet  {times['sync'] / times['subnet']:.2f}")
    for key, value in memory.items():
        ratio = memory["supernet"] / value
        print(f"  memory {key:30s} {value / 2**20:8.1f} MiB  (supernet / this: {ratio:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", nargs="+", default=["darts_cell_demo", "posenfs_mobilenet"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    for name in args.spaces:
        measure(name, args)


if __name__ == "__main__":
    main()
