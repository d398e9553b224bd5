"""Calibration of `archc data synth --profile quick` (docs/data.md has the table).

Trains nets of different capacity at a 128x96 crop on quick data for a fixed time
(`archc train --budget-seconds`), one run at a time with all the threads asked for, over
several seeds, and prints validation AP after that time: the mean, the spread
(max - min) over seeds, and whether the nets separate by more than their spreads.

    python bench/calibration/quick_profile.py             # 2 nets x 3 seeds x 600 s: 1 hour
    python bench/calibration/quick_profile.py --seconds 300 --seeds 0

Runs one after another so that each has the machine to itself: a time budget measures
the machine, and two runs at once would each see half of it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHC = str(Path(sys.executable).with_name("archc"))
NETS = {  # name -> archc arguments naming the net at a 128x96 crop
    "tiny (64M MACs)": ["examples/nets/tiny.arch", "-D", "INPUT=[3,128,96]"],
    "demo smallest (17M MACs)": ["examples/spaces/demo.arch", "--smallest"],
}
RECIPE = ["--schedule", "cosine", "--sigma", "2", "--batch", "32", "--epochs", "200"]


def train(net: list[str], data: Path, out: Path, seed: int, seconds: float, threads: int):
    """(best AP, epochs, images/s of the last epoch) of one timed run."""
    command = [ARCHC, "train", *net, "--data", str(data), *RECIPE, "--seed", str(seed)]
    command += ["--budget-seconds", str(seconds), "--workers", "0", "--threads", str(threads)]
    subprocess.run([*command, "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    return last["best_AP"], last["epoch"], last["images_per_s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", help="a quick data set to reuse (default: render one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp) / "data"
        if not args.data:
            synth = [ARCHC, "data", "synth", str(data), "--profile", "quick"]
            synth += ["--train", "1000", "--val", "100", "--size", "192x256"]
            subprocess.run(synth, check=True, capture_output=True)
        results = {}
        for name, net in NETS.items():
            for seed in args.seeds:
                out = Path(tmp) / f"{len(results)}_{seed}"
                ap, epochs, speed = train(net, data, out, seed, args.seconds, args.threads)
                print(
                    f"{name:<26} seed {seed}: AP {ap:.3f} after {epochs} epochs ({speed:.0f} img/s)"
                )
                results.setdefault(name, []).append(ap)
    print(f"\nAP after {args.seconds:g} s on {args.threads} threads, seeds {args.seeds}:")
    for name, aps in results.items():
        spread = max(aps) - min(aps)
        print(f"  {name:<26} mean {statistics.mean(aps):.3f}  spread {spread:.3f}")
    (lo_name, lo), (hi_name, hi) = sorted(results.items(), key=lambda kv: statistics.mean(kv[1]))
    gap = min(hi) - max(lo)
    verdict = "separate" if gap > 0 else "overlap"
    print(f"  {hi_name} vs {lo_name}: worst of the better {min(hi):.3f}, best of the other "
          f"{max(lo):.3f}: the nets {verdict}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
