"""Running `archc` commands as the steps of a scripted job (`make demo`, bench/ablations/).

Each step is printed as the command a user would type, runs with its output in a log
file, and is timed; a failed step stops the job with the end of its log. Independent
steps run side by side with `parallel` (one CPU thread each on the 2-core machines the
demo and the ablations are sized for).
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The training recipe of the demo and of every ablation arm (a budget ends it first),
# and one CPU thread per arm: two arms side by side fill the 2 cores.
RECIPE = ["--schedule", "cosine", "--sigma", "2", "--batch", "32", "--epochs", "200"]
ONE_CORE = ["--workers", "0", "--threads", "1"]


class StepFailed(SystemExit):
    """A step exited non-zero: the message has the end of its log."""


class Step:
    """One archc command: printed, run with its output in OUT/logs/NAME.log, timed."""

    lock = threading.Lock()

    def __init__(self, archc: str, out: Path, job: str = "demo") -> None:
        self.archc, self.logs, self.job = archc, out / "logs", job
        self.logs.mkdir(parents=True, exist_ok=True)

    def say(self, text: str) -> None:
        with self.lock:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def __call__(self, name: str, *args: str) -> float:
        """Run `archc ARGS`; the wall seconds it took."""
        self.say(f"{name}: archc {shlex.join(args)}")
        log = self.logs / f"{name}.log"
        begin = time.perf_counter()
        with log.open("w") as handle:
            done = subprocess.run(
                [self.archc, *args], cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT
            )
        seconds = time.perf_counter() - begin
        if done.returncode != 0:
            tail = log.read_text(errors="replace").splitlines()[-15:]
            raise StepFailed(
                f"{self.job}: step {name} failed (exit {done.returncode}); the end of {log}:\n"
                + "\n".join("    " + line for line in tail)
            )
        self.say(f"{name}: done in {seconds:.0f} s")
        return seconds


def parallel(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs in threads side by side; their results in order. The first error is
    raised after every job has stopped (a half-finished sibling is never abandoned)."""
    results: list[object] = [None] * len(jobs)
    errors: list[BaseException] = []

    def guarded(i: int, job: Callable[[], object]) -> None:
        try:
            results[i] = job()
        except BaseException as err:  # re-raised below, once all have stopped
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(i, j)) for i, j in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
