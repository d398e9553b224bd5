"""Evaluations per second of a one-shot search: one process at 1 and 2 torch threads
against 2 Ray workers at 1 thread each, and what starting Ray costs.

A small elastic space (tests/runtime/search's) gets a supernet with random weights
and a generated data set; each setting searches the same N configs (random
strategy, same seed, no export) and the time from the first to the last trial is
measured from the search's own phase callbacks, so loading and Ray start-up are
reported apart. The trial logs are compared: they must be identical.

    python bench/ray_speed.py [--evaluations 32]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import archc
from archc.runtime.pose.synth import synthesize
from archc.runtime.search.one_shot import SearchOptions, run_search
from archc.runtime.weights import save_weights
from archc.torch import build_supernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.runtime.search.search_fixtures import SMALL  # noqa: E402


def _search(space, work: Path, name: str, evaluations: int, **options) -> tuple[float, float]:
    """(seconds before the first trial, seconds of the trials)."""
    marks = {"begin": time.perf_counter()}

    def phase(text: str) -> None:
        if text.startswith("searching"):
            marks["trials"] = time.perf_counter()
        if text.startswith("writing"):
            marks["end"] = time.perf_counter()

    opts = SearchOptions(
        strategy="random",
        evaluations=evaluations,
        batch=8,
        calibration=32,
        export=False,
        **options,
    )
    run_search(
        space,
        work / name,
        opts,
        supernet=work / "sn.safetensors",
        data=work / "data",
        sources={},
        on_phase=phase,
    )
    return marks["trials"] - marks["begin"], marks["end"] - marks["trials"]


def _trials(folder: Path) -> list[dict]:
    lines = (folder / "trials.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "small.arch").write_text(SMALL)
        space = archc.load(work / "small.arch")
        synthesize(work / "data", 40, 120, size=(96, 128), seed=0, workers=1)
        torch.manual_seed(0)
        save_weights(build_supernet(space), work / "sn.safetensors", {"format": "bench"})
        n = args.evaluations
        settings = [
            ("1 process, 1 thread", dict(threads=1)),
            ("1 process, 2 threads", dict(threads=2)),
            ("2 Ray workers, 1 thread each", dict(threads=1, workers=2)),
        ]
        for name, options in settings:
            torch.set_num_threads(options["threads"])
            start, trials = _search(space, work, name.replace(" ", "_"), n, **options)
            print(
                f"{name}: {n / trials:.2f} evaluations/s ({trials:.1f} s for {n}); "
                f"{start:.1f} s before the first trial",
                flush=True,
            )
        same = _trials(work / "1_process,_1_thread") == _trials(
            work / "2_Ray_workers,_1_thread_each"
        )
        print(f"trial logs of 1 process and 2 Ray workers identical: {same}")


if __name__ == "__main__":
    main()
