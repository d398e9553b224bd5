"""The REINFORCE driver's costs and its controller's learning curve (CPU).

1. Controller updates per second over autopose's 12 policy choices (2 samples per
   update, a synthetic reward: the update itself, no evaluation).
2. The toy space of tests/runtime/search/test_controller.py (four switches, one
   pattern rewarded 1, every other 0): P(pattern) after each update, for 3 seeds.
3. autopose at 3 x 128 x 96 (batch 8, synthetic batches): one alternation step (a
   sampled structure, a joint weight + Gumbel-cell step) against a plain training
   step of the derived subnet of the same structure, and one controller update
   with a loss reward (2 structures, each BN-recalibrated on 4 batches and scored
   on one) against that training step.

    python bench/controller_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' toy space
import archc
from archc.runtime.search.controller import Controller, Reinforce
from archc.runtime.search.drivers.differentiable import DifferentiableStep
from archc.runtime.search.drivers.reinforce import ReinforceStep
from archc.runtime.temperature import GumbelTemperature
from archc.runtime.train.step import PlainStep, StepContext
from archc.torch import build_module, build_supernet

ROOT = Path(__file__).resolve().parent.parent


def load(text: str, name: str):
    folder = Path(tempfile.mkdtemp())
    (folder / f"{name}.arch").write_text(text)
    return archc.load(folder / f"{name}.arch")


def policy_of(space) -> list[str]:
    return [c.name for c in space.table if c.realise == "policy"]


def updates_per_second(space, seconds: float = 3.0) -> float:
    torch.manual_seed(0)
    learner = Reinforce(Controller(space.table, policy_of(space)))
    generator, done, start = torch.Generator().manual_seed(0), 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        samples = []
        for i in range(2):
            _, log_prob, entropy = learner.controller.sample(generator)
            samples.append((log_prob, entropy, float(i)))
        learner.update(samples)
        done += 1
    return done / (time.perf_counter() - start)


def toy_curve(seed: int, updates: int = 60) -> list[float]:
    from tests.runtime.search.test_controller import SWITCHES, TARGET

    space = load(SWITCHES, "switches")
    torch.manual_seed(seed)
    controller = Controller(space.table, policy_of(space), hidden=32)
    learner = Reinforce(controller, lr=0.02, baseline_decay=0.9)
    generator, curve = torch.Generator().manual_seed(seed), [controller.probability(TARGET)]
    for _ in range(updates):
        samples = []
        for _ in range(8):
            decisions, log_prob, entropy = controller.sample(generator)
            samples.append(
                (log_prob, entropy, float(all(decisions[k] == v for k, v in TARGET.items())))
            )
        learner.update(samples)
        curve.append(controller.probability(TARGET))
    return curve


class _Validation:
    """Calibration crops for the controller's rewards (no COCO evaluation: loss reward)."""

    def __init__(self, images):
        self.images = images

    def calibration(self, crops: int):
        return [self.images] * max(1, crops // len(self.images))


def alternation(repeats: int) -> dict[str, float]:
    text = (ROOT / "examples/spaces/autopose.arch").read_text()
    space = load(text.replace("const INPUT = [3, 256, 192]", "const INPUT = [3, 128, 96]"), "ap")
    torch.manual_seed(0)
    net = build_supernet(space)
    inner = DifferentiableStep(
        net, space.default(), mode="gumbel", epochs=1, temperature=GumbelTemperature(1.0, 1.0, 1)
    )
    controller = Controller(space.table, policy_of(space))
    step = ReinforceStep(
        inner,
        controller,
        Reinforce(controller),
        space,
        reward="loss",
        held_out=0.5,
        calibration=32,
        samples=2,
        updates=1,
    )
    images = torch.randn(8, 3, 128, 96)
    net.set_active(space.default())
    with torch.no_grad():
        shape = net.eval()(images).shape
    net.train()
    batch = (images, torch.rand(shape), torch.ones(8, shape[1], 1), {})
    ctx = StepContext(torch.device("cpu"), False, torch.amp.GradScaler("cpu", enabled=False), 0)
    ctx.held_out, ctx.validation, ctx.batch = (lambda: batch), _Validation(images), 1
    times = {"alternation step": [], "controller update": [], "derived subnet step": []}
    for r in range(repeats + 1):
        ctx.epoch = r
        begin = time.perf_counter()
        step.step(batch, ctx)
        times["alternation step"].append(time.perf_counter() - begin)
        begin = time.perf_counter()
        step._train_controller(ctx)
        times["controller update"].append(time.perf_counter() - begin)
        derived = build_module(space.derive(net.argmax_config(inner.base)))
        plain = PlainStep(derived)
        begin = time.perf_counter()
        plain.step(batch, ctx)
        times["derived subnet step"].append(time.perf_counter() - begin)
    return {k: statistics.median(v[1:]) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    text = (ROOT / "examples/spaces/autopose.arch").read_text()
    print(
        f"controller updates/s (autopose, 12 choices): {updates_per_second(load(text, 'ap')):.0f}"
    )
    for seed in range(3):
        curve = toy_curve(seed)
        first = next((i for i, p in enumerate(curve) if p > 0.9), None)
        shown = " ".join(f"{p:.2f}" for p in curve[::5])
        print(f"toy seed {seed}: P(pattern) every 5 updates {shown}; > 0.9 after {first}")
    times = alternation(args.repeats)
    base = times["derived subnet step"]
    for key, value in times.items():
        print(f"autopose 128x96 {key:22s} {value * 1e3:8.1f} ms  ({value / base:.2f} x subnet)")


if __name__ == "__main__":
    main()
