"""Data-parallel supernet training on one machine: seconds per training step with one
process (1 and 2 torch threads) and with two torchrun processes (1 thread each, gloo),
on the same global batch, measured in one run.

    python bench/ddp_speed.py [--epochs 3] [--batch 16]

Uses the small elastic space of the search tests at 64x48 on a generated set; the
time is the mean `train_seconds` per step over the epochs after the first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.runtime.search.search_fixtures import SMALL  # noqa: E402


def _run(work: Path, out: str, args: list[str], procs: int, threads: int) -> float:
    head = [sys.executable, "-m", "archc"]
    if procs > 1:
        head = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(procs)]
        head += ["-m", "archc"]
    proc = subprocess.run(
        [*head, *args, "--threads", str(threads), "--out", out],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    lines = [json.loads(x) for x in (work / out / "metrics.jsonl").read_text().splitlines()]
    later = lines[1:] or lines
    steps = sum(r["images"] for r in later) / int(args[args.index("--batch") + 1])
    return sum(r["train_seconds"] for r in later) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "small.arch").write_text(SMALL)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "archc",
                "data",
                "synth",
                "data",
                "--train",
                "120",
                "--val",
                "8",
                "--size",
                "96x128",
                "--workers",
                "1",
            ],
            cwd=work,
            check=True,
            capture_output=True,
        )
        args = [
            "supernet",
            "train",
            "small.arch",
            "--data",
            "data",
            "--epochs",
            str(opts.epochs),
            "--batch",
            str(opts.batch),
            "--workers",
            "0",
            "--calibration",
            "16",
            "--val-every",
            str(opts.epochs),
        ]
        one1 = _run(work, "one1", args, 1, 1)
        one2 = _run(work, "one2", args, 1, 2)
        two = _run(work, "two", args, 2, 1)
        print(
            f"seconds per step, global batch {opts.batch}: 1 process 1 thread {one1:.3f}, "
            f"1 process 2 threads {one2:.3f}, 2 processes 1 thread each {two:.3f} "
            f"(speed-up over 1 thread: {one1 / two:.2f}x; over 2 threads: {one2 / two:.2f}x)"
        )


if __name__ == "__main__":
    main()
