"""Exact resume: a run SIGKILLed in the middle of an epoch and resumed ends with the
same weights (and optimizer state, and metrics) as a run never interrupted, on
CPU in deterministic mode.

Each run is a separate `python -m archc train` process; the kill is real (the
process sends itself SIGKILL after N optimizer steps from an `on_step` callback,
`kill_runner.py`, so it lands at the same place every time, with no cleanup code run). The micro
net trains on 4 persons with batch 2: 2 steps per epoch, 3 epochs.
The kill-in-the-first-epoch case is marked slow (two more processes, ~10 s).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.runtime.train.train_fixtures import make_data, run_archc, write_net

TIMING = ("images_per_s", "train_seconds", "val_seconds", "seconds")


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, list[str]]:
    """(work folder, train arguments without --out)."""
    work = tmp_path_factory.mktemp("resume")
    make_data(work / "data")
    write_net(work)
    return work, [
        "train",
        "micro.arch",
        "--data",
        "data",
        "--epochs",
        "3",
        "--batch",
        "2",
        "--workers",
        "0",
        "--deterministic",
        "--threads",
        "1",
        "--seed",
        "7",
    ]


@pytest.fixture(scope="module")
def uninterrupted(setup) -> Path:
    work, args = setup
    proc = run_archc([*args, "--out", "straight"], work)
    assert proc.returncode == 0, proc.stderr
    return work / "straight"


def _metrics(run: Path) -> list[dict]:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in lines]


def assert_same_run(a: Path, b: Path) -> None:
    for name in (
        "last.safetensors",
        "best.safetensors",
        "checkpoints/epoch_0003.safetensors",
        "checkpoints/epoch_0003.state.safetensors",
    ):
        x, y = load_file(a / name), load_file(b / name)
        assert x.keys() == y.keys(), name
        unequal = [k for k in x if not torch.equal(x[k], y[k])]
        assert unequal == [], name
        # deterministic runs write byte-identical files: a hash checks reproducibility
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert _metrics(a) == _metrics(b)
    assert (a / "val_results.json").read_text() == (b / "val_results.json").read_text()


def test_killed_mid_epoch_and_resumed_equals_uninterrupted(setup, uninterrupted) -> None:
    work, args = setup
    killed = run_archc([*args, "--out", "killed"], work, kill_after=3)
    assert killed.returncode == -signal.SIGKILL
    run = work / "killed"
    # Epoch 1 committed; epoch 2 died after its first step and left nothing.
    assert json.loads((run / "last.json").read_text())["epoch"] == 1
    assert [r["epoch"] for r in _metrics(run)] == [1]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "epoch_0001.safetensors",
        "epoch_0001.state.safetensors",
    ]
    # The resumed process loads data in a worker process: the batches must not change.
    resumed = run_archc(
        ["train", "micro.arch", "--out", "killed", "--resume", "--workers", "1"], work
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1" in resumed.stdout.splitlines()[0]
    assert [line.split(":")[0] for line in resumed.stdout.splitlines()[1:3]] == [
        "epoch 2/3",
        "epoch 3/3",
    ]
    assert_same_run(uninterrupted, run)


@pytest.mark.slow
def test_killed_in_the_first_epoch_restarts_it(setup, uninterrupted) -> None:
    """No epoch committed: resume starts over from the saved options."""
    work, args = setup
    killed = run_archc([*args, "--out", "early"], work, kill_after=1)
    assert killed.returncode == -signal.SIGKILL
    assert not (work / "early" / "last.json").exists()
    resumed = run_archc(["train", "micro.arch", "--out", "early", "--resume"], work)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(uninterrupted, work / "early")


def test_ctrl_c_says_which_epoch_is_kept_and_how_to_continue(setup) -> None:
    work, args = setup
    stopped = run_archc([*args, "--out", "stopped"], work, kill_after="3:INT")
    assert stopped.returncode == 130
    assert stopped.stderr.splitlines()[-1] == (
        "archc: interrupted; stopped holds the checkpoint of epoch 1; "
        "`archc train micro.arch --out stopped --resume` continues from there"
    )


def test_a_resume_started_while_the_run_is_alive_is_refused(setup, uninterrupted):
    """A run stopped (SIGSTOP, so it holds its lock) after its first step, and a
    `--resume` of the same folder started meanwhile: the second is refused, naming the
    first's pid, and writes nothing; the first, continued, ends as if alone."""
    import contextlib
    import os
    import subprocess
    import sys
    import time

    from tests.runtime.train.train_fixtures import KILL_RUNNER

    work, args = setup
    env = {**os.environ, "PYTHONPATH": str(KILL_RUNNER.parents[3])}
    log = (work / "busy.log").open("w")
    first = subprocess.Popen(
        [sys.executable, str(KILL_RUNNER), "1:STOP", *args, "--out", "busy"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        _wait_until_stopped(first.pid, deadline=time.monotonic() + 120)
        second = run_archc([*args, "--out", "busy", "--resume"], work)
        assert second.returncode == 1, second.stderr
        assert f"in use by pid {first.pid}" in second.stderr
        while first.poll() is None:  # the runner stops itself after every later step
            _wait_until_stopped(first.pid, deadline=time.monotonic() + 120, or_exited=first)
            with contextlib.suppress(ProcessLookupError):  # it may just have exited
                os.kill(first.pid, signal.SIGCONT)
        assert first.returncode == 0, (work / "busy.log").read_text()
    finally:
        log.close()
        if first.poll() is None:
            first.kill()
    assert _metrics(work / "busy") == _metrics(uninterrupted)


def _wait_until_stopped(pid: int, deadline: float, or_exited=None) -> None:
    import time

    while time.monotonic() < deadline:
        if or_exited is not None and or_exited.poll() is not None:
            return
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state in ("T", "Z"):
            return
        time.sleep(0.05)
    raise AssertionError("the first run never reached its first step")
