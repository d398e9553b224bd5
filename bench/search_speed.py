"""How fast the parts of a search are, as ratios measured in one run (machines are noisy).

1. cost: configs/s of `Space.cost` one by one, and of `Space.cost_many` when the space
   has it, on vipnas_mbv3 (goal >= 200,000/s batched);
2. proposals/s of each strategy, costs included, on vipnas_mbv3 within 700M MACs;
3. shared-weight evaluations/s on mobile_small at 128x96 with R = V = 64, and the ratio
   of one evaluation (activate, BN recalibration, flip-test validation, COCO AP) to a
   plain forward of the derived subnet over the same crops (goal <= 1.2);
4. one sandwich step (largest, smallest, 2 random) against the sum of its subnets'
   derived-module steps (goal <= 1.1);
5. host memory (RSS) over 1,000 evaluations on a small space (goal: flat within 2 %).

    python bench/search_speed.py [--skip-memory] [--evaluations 1000]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch

import archc
from archc.cli import main as cli
from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.search.drivers.sandwich import SandwichStep
from archc.runtime.search.limits import feasibility, search_limits
from archc.runtime.search.one_shot import SearchOptions
from archc.runtime.search.session import EvaluationSession
from archc.runtime.search.strategies import Trial, make_strategy
from archc.runtime.train.step import StepContext
from archc.runtime.weights import save_weights
from archc.torch import build_supernet

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
ROOT = Path(__file__).resolve().parent.parent
SMALL_INPUT = "input image: [3, 128, 96]"


def _space(name: str, work: Path, small_input: bool = False):
    text = (ROOT / "examples" / "spaces" / f"{name}.arch").read_text()
    if small_input:
        text = text.replace("input image: [3, 256, 192]", SMALL_INPUT)
    path = work / f"{name}.arch"
    path.write_text(text)
    return archc.load(path)


def bench_cost(space, batch: int = 100_000, repeats: int = 3) -> None:
    """Space.cost one by one on 2,000 configs, Space.cost_many on `batch` sampled ones
    (sampling not timed; a warm-up call builds the batch model); each the best of
    `repeats` runs, interleaved, so a busy machine slows both alike."""
    configs = [space.sample(i) for i in range(2000)]
    many = [space.sample(i) for i in range(batch)] if hasattr(space, "cost_many") else []
    if many:
        space.cost_many(configs[:10])
    single = batched = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for c in configs:
            space.cost(c)
        single = max(single, len(configs) / (time.perf_counter() - start))
        if many:
            start = time.perf_counter()
            space.cost_many(many)
            batched = max(batched, len(many) / (time.perf_counter() - start))
    line = f"cost: Space.cost {single:,.0f} configs/s"
    if many:
        line += (
            f"; Space.cost_many {batched:,.0f} configs/s over {len(many):,} configs "
            f"({batched / single:.1f}x; goal >= 200,000/s)"
        )
    else:
        line += "; Space.cost_many: not in this build"
    print(line, flush=True)


def bench_strategies(space) -> None:
    limits = search_limits(space, max_macs=700e6)
    feasible = feasibility(space, limits)
    for name, options in (
        ("random", {}),
        ("evolution", {"population": 32, "tournament": 8}),
        ("nsga2", {"population": 32}),
    ):
        strategy = make_strategy(name, space, feasible, 0, **options)
        rng, n, start = random.Random(0), 0, time.perf_counter()
        while n < 256:
            configs = strategy.ask(8)
            costs = [space.cost(c) for c in configs]
            strategy.tell(
                [
                    Trial(c, rng.random(), {"macs": k.macs})
                    for c, k in zip(configs, costs, strict=True)
                ]
            )
            n += len(configs)
        print(
            f"proposals: {name} {n / (time.perf_counter() - start):,.0f} configs/s "
            "(costs and repair walks included)",
            flush=True,
        )


def _data(work: Path) -> Path:
    folder = work / "data"
    argv = ["data", "synth", str(folder), "--train", "80", "--val", "64", "--size", "192x256"]
    assert cli.main(argv) == 0
    return folder


def _session(space, work: Path, data: Path, crops: int, images: int) -> EvaluationSession:
    torch.manual_seed(0)
    weights = work / f"{space.name}.safetensors"
    save_weights(build_supernet(space), weights)
    options = SearchOptions(calibration=crops, val_images=images, eval_batch=32)
    return EvaluationSession.open(space, weights, data, options)


def bench_evaluation(space, work: Path, data: Path) -> None:
    session = _session(space, work, data, 64, 64)
    configs = [space.sample(i) for i in range(6)]
    evals, plains = [], []
    for config in configs:
        start = time.perf_counter()
        session.evaluator.evaluate(config)
        evals.append(time.perf_counter() - start)
        module = session.supernet.derive(config).eval()
        crops = [
            *session.calibration,
            *(b[0] for b in session.val.batches),
            *(torch.flip(b[0], dims=[3]) for b in session.val.batches),
        ]
        with torch.no_grad():
            start = time.perf_counter()
            for batch in crops:
                module(batch)
            plains.append(time.perf_counter() - start)
    ratios = [e / p for e, p in zip(evals, plains, strict=True)]
    print(
        f"evaluation: {len(configs) / sum(evals):.2f} subnets/s on {space.name} at 128x96 "
        f"(R = {session.evaluator.crops} crops, V = {session.val.images} images, "
        f"{session.val.persons} persons, flip test); evaluation / plain forward over the "
        f"same crops: median {statistics.median(ratios):.2f} "
        f"(per config {min(ratios):.2f}..{max(ratios):.2f}; goal <= 1.2)",
        flush=True,
    )


def bench_sandwich(space) -> None:
    torch.manual_seed(0)
    supernet = build_supernet(space)
    step = SandwichStep(supernet, space, random=2)
    images = torch.randn(16, 3, 128, 96)
    target = torch.rand(16, 17, 32, 24)
    weight = torch.ones(16, 17, 1)
    ctx = StepContext(torch.device("cpu"), False, torch.amp.GradScaler("cpu", enabled=False), 0)
    ratios = []
    for batch in range(4):
        ctx.batch = batch
        configs = step.subnets(ctx)
        modules = [supernet.derive(c).train() for c in configs]
        step.step((images, target, weight, {}), ctx)  # warm plans
        start = time.perf_counter()
        step.step((images, target, weight, {}), ctx)
        sandwich = time.perf_counter() - start
        start = time.perf_counter()
        for module in modules:
            JointsMSELoss()(module(images), target, weight).backward()
        alone = time.perf_counter() - start
        ratios.append(sandwich / alone)
    print(
        f"sandwich step / sum of its 4 derived-module steps: median "
        f"{statistics.median(ratios):.2f} (per batch {min(ratios):.2f}..{max(ratios):.2f}; "
        "goal <= 1.1)",
        flush=True,
    )


def bench_memory(work: Path, data: Path, evaluations: int) -> None:
    text = (ROOT / "tests/runtime/search/search_fixtures.py").read_text()
    source = text.split('SMALL = """\\\n', 1)[1].split('"""', 1)[0]
    path = work / "small.arch"
    path.write_text(source)
    space = archc.load(path)
    session = _session(space, work, data, 16, 8)
    configs = list(space.table.configs())
    rss = []
    for i in range(evaluations):
        session.evaluator.evaluate(configs[i % len(configs)] if i % 2 else space.sample(i))
        if i + 1 in (evaluations // 10, evaluations):
            rss.append(_rss_mib())
    print(
        f"memory: RSS {rss[0]:.0f} MiB after {evaluations // 10} evaluations, "
        f"{rss[1]:.0f} MiB after {evaluations} ({100 * (rss[1] / rss[0] - 1):+.1f} %; "
        "goal within 2 %)",
        flush=True,
    )


def _rss_mib() -> float:
    """The resident set size now (not the peak), from /proc; the peak elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--evaluations", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mbv3 = _space("vipnas_mbv3", work)
        bench_cost(mbv3)
        bench_strategies(mbv3)
        data = _data(work)
        mobile = _space("mobile_small", work, small_input=True)
        bench_evaluation(mobile, work, data)
        bench_sandwich(mobile)
        if not args.skip_memory:
            bench_memory(work, data, args.evaluations)


if __name__ == "__main__":
    main()
