"""`make demo`: the whole NAS job on generated data, in about ten minutes on 2 CPU cores.

quick data -> supernet (sandwich) -> evolutionary search under a MAC budget -> the
found subnet, BN recalibrated, fine-tuned -> against a hand-designed net (tiny.arch,
more MACs than the budget) trained for the same time -> ONNX and latency of both ->
pictures and an HTML report. Every step is the `archc` command a user would type (each
printed before it runs, its output in OUT/logs/), so the demo is also the tutorial.

The two arms run side by side, one CPU thread each: the search arm (supernet, search,
fine-tune) and the baseline. Both get the same training time (`Plan`: the supernet's
and the fine-tune's budgets together), through `--budget-seconds`; the search's own
time (evaluating subnets with shared weights, no training) is shown apart. Exit status 0 when every
step ran; the table says who won, which is not the test of a working demo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from steps import ONE_CORE, RECIPE, ROOT, Step, parallel

SPACE = "examples/spaces/demo.arch"
BASELINE = "examples/nets/tiny.arch"
CROP = "INPUT=[3,128,96]"  # tiny at the demo space's crop
MAX_MACS = "40M"  # the search budget; tiny has 64M MACs at this crop


class Plan:
    """The demo's sizes: the real one, or `--smoke` (seconds, for a test of the plumbing)."""

    def __init__(self, smoke: bool) -> None:
        self.train_images, self.val_images = (40, 10) if smoke else (1000, 100)
        self.supernet_s, self.finetune_s = (4, 2) if smoke else (240, 150)
        self.evaluations = 4 if smoke else 30
        self.latency_runs = 5 if smoke else 50


def search_arm(step: Step, plan: Plan, out: Path, data: Path, seconds: dict) -> None:
    common = ["--data", str(data), *RECIPE, *ONE_CORE]
    seconds["supernet"] = step(
        "supernet",
        "supernet", "train", SPACE, *common,
        "--budget-seconds", str(plan.supernet_s), "--val-every", "1000",
        "--out", str(out / "supernet"),
    )  # fmt: skip
    seconds["search"] = step(
        "search",
        "search", SPACE, "--supernet", str(out / "supernet"), "--data", str(data),
        "--max-macs", MAX_MACS, "--evaluations", str(plan.evaluations), "--threads", "1",
        "--objective", "loss",
        "--out", str(out / "search"),
    )  # fmt: skip
    seconds["finetune"] = step(
        "finetune",
        "train", SPACE, "--init", str(out / "search" / "best"), *common, "--lr", "5e-4",
        "--budget-seconds", str(plan.finetune_s), "--out", str(out / "found"),
    )  # fmt: skip


def baseline_arm(step: Step, plan: Plan, out: Path, data: Path, seconds: dict) -> None:
    seconds["baseline"] = step(
        "baseline",
        "train", BASELINE, "-D", CROP, "--data", str(data), *RECIPE, *ONE_CORE,
        "--budget-seconds", str(plan.supernet_s + plan.finetune_s), "--out", str(out / "baseline"),
    )  # fmt: skip


def run_arms(step: Step, plan: Plan, out: Path, data: Path) -> dict:
    seconds: dict = {}
    arms = (search_arm, baseline_arm)
    parallel(*(lambda arm=arm: arm(step, plan, out, data, seconds) for arm in arms))
    return seconds


def nets(out: Path) -> dict[str, list[str]]:
    """The two nets compared, as the archc arguments that name them; each one's training
    run is OUT/NAME."""
    return {
        "found": [SPACE, "--config", str(out / "search" / "best" / "config.json")],
        "baseline": [BASELINE, "-D", CROP],
    }


def deploy(step: Step, plan: Plan, out: Path) -> dict:
    """ONNX files and single-thread latency of both nets; the pictures; the report."""
    specs = nets(out)
    weights = {name: out / name / "best.safetensors" for name in specs}
    latency = {}
    for name, spec in specs.items():
        export = [*spec, "-o", str(out / f"{name}.onnx"), "--weights", str(weights[name])]
        step(f"export-{name}", "export", *export)
        step(
            f"latency-{name}",
            "latency",
            *spec,
            "--threads",
            "1",
            "--runs",
            str(plan.latency_runs),
            "--json",
        )
        log = (out / "logs" / f"latency-{name}.log").read_text()
        latency[name] = json.loads(log[log.index("{") :])["onnxruntime"]["median_ms"]
    pictures = out / "pictures"
    pictures.mkdir()
    step("viz-space", "viz", SPACE, "--depth", "2", "-o", str(pictures / "space.svg"))
    step("viz-found", "viz", *specs["found"], "-o", str(pictures / "found.svg"))
    shutil.copy(out / "search" / "pareto.png", pictures / "pareto.png")
    step("report", "report", str(out / "search"), "-o", str(out / "report.html"))
    for run in ("found", "baseline"):  # their training curves, next to their runs
        step(f"report-{run}", "report", str(out / run))
    return latency


def cost(spec: list[str], archc: str) -> tuple[int, int]:
    """(params, MACs) of a net from `archc info --json`."""
    done = subprocess.run(
        [archc, "info", *spec, "--json"], cwd=ROOT, capture_output=True, check=True
    )
    doc = json.loads(done.stdout)
    return doc["params"], doc["macs"]


def table(out: Path, archc: str, seconds: dict, latency: dict) -> str:
    def best_ap(run: str) -> float:
        lines = (out / run / "metrics.jsonl").read_text().splitlines()
        return json.loads(lines[-1])["best_AP"]

    specs = nets(out)
    rows = [
        ("found (searched)", best_ap("found"), *cost(specs["found"], archc),
         latency["found"], seconds["supernet"] + seconds["finetune"]),
        ("tiny (hand-designed)", best_ap("baseline"), *cost(specs["baseline"], archc),
         latency["baseline"], seconds["baseline"]),
    ]  # fmt: skip
    lines = [
        f"{'net':<22}{'AP':>8}{'params':>11}{'MACs':>8}{'latency':>10}{'training':>10}",
    ]
    for name, ap, params, macs, ms, train in rows:
        lines.append(
            f"{name:<22}{ap:>8.3f}{params:>11,}{macs / 1e6:>7.1f}M{ms:>8.2f}ms{train:>9.0f}s"
        )
    lines.append(
        f"(AP on the {out / 'data'} validation split; latency: onnxruntime, batch 1, 1 thread; "
        f"training: wall seconds incl. start-up; the search itself took {seconds['search']:.0f} s)"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/demo", help="output folder (replaced)")
    parser.add_argument("--archc", default=os.environ.get("ARCHC", ".venv/bin/archc"))
    parser.add_argument(
        "--smoke", action="store_true", help="a run of seconds that checks every step works"
    )
    args = parser.parse_args()
    plan = Plan(args.smoke)
    archc = str((ROOT / args.archc) if not os.path.isabs(args.archc) else args.archc)
    if not os.access(archc, os.X_OK):
        archc = shutil.which("archc") or sys.exit("demo: no archc command; run `make setup`")
    out = (ROOT / args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    begin = time.perf_counter()
    step = Step(archc, out)
    data = out / "data"
    step("data", "data", "synth", str(data), "--profile", "quick", "--train",
         str(plan.train_images), "--val", str(plan.val_images), "--size", "192x256")  # fmt: skip
    seconds = run_arms(step, plan, out, data)
    latency = deploy(step, plan, out)
    print()
    print(table(out, archc, seconds, latency))
    print(f"\ndemo finished in {(time.perf_counter() - begin) / 60:.1f} min")
    print(f"report: {out / 'report.html'} (the search; found/ and baseline/ have their own)")
    print(f"pictures: {out / 'pictures'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
