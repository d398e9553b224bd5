"""Data-parallel training under torchrun (runtime/train/distributed.py): a step on two
processes equals the one-process step on the same global batch, rank 0 alone writes
and reports, and a run whose rank 1 is killed resumes to the uninterrupted run's
weights. Two gloo processes on the CPU; the space has no BatchNorm, whose per-rank
statistics are the one documented difference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file

import archc
from archc.runtime.search.drivers.sandwich import SandwichStep
from archc.runtime.train.distributed import Ranks
from archc.runtime.train.step import StepContext
from archc.torch import build_supernet
from tests.runtime.search.search_fixtures import SMALL, synth_data
from tests.runtime.train.train_fixtures import KILL_RUNNER

NO_BN = SMALL.replace(" -> bn", "").replace("space small", "space nobn")


def _step(space_file: str, rank: int, world: int) -> dict[str, torch.Tensor]:
    """One float64 sandwich step of rank `rank` of `world` on its share of a batch of 8."""
    space = archc.load(space_file)
    torch.manual_seed(0)
    step = SandwichStep(build_supernet(space).double(), space, random=2, lr=0.01)
    g = torch.Generator().manual_seed(1)
    images = torch.randn(8, 3, 64, 48, generator=g, dtype=torch.float64)
    target = torch.rand(8, 17, 32, 24, generator=g, dtype=torch.float64)
    weight = (torch.rand(8, 17, 1, generator=g) > 0.2).double()
    share = slice(rank, None, world)
    ranks = Ranks(rank, world, rank)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    ctx = StepContext(torch.device("cpu"), False, scaler, seed=5, ranks=ranks)
    step.step((images[share], target[share], weight[share], {}), ctx)
    return {k: v.clone() for k, v in step.supernet.state_dict().items()}


def _rank(rank: int, world: int, init: str, space_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        state = _step(space_file, rank, world)
        torch.save(state, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_a_step_on_two_processes_equals_the_one_process_step(tmp_path) -> None:
    space_file = tmp_path / "nobn.arch"
    space_file.write_text(NO_BN)
    init = f"file://{tmp_path / 'rendezvous'}"
    mp.spawn(_rank, args=(2, init, str(space_file), str(tmp_path / "state")), nprocs=2)
    alone = _step(str(space_file), 0, 1)
    for rank in (0, 1):
        shared = torch.load(tmp_path / f"state.{rank}", weights_only=True)
        worst = max(float((shared[k] - alone[k]).abs().max()) for k in alone)
        assert worst < 1e-6, (rank, worst)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("ddp")
    (work / "nobn.arch").write_text(NO_BN)
    synth_data(work / "data", train=24, val=8)
    return work


ARGS = ["supernet", "train", "nobn.arch", "--data", "data", "--epochs", "2", "--batch", "8"]
ARGS += ["--workers", "0", "--threads", "1", "--deterministic", "--calibration", "16"]


def _torchrun(work: Path, args: list[str], kill_after: int | None = None, **env: str):
    head = ["-m", "archc"] if kill_after is None else [str(KILL_RUNNER), str(kill_after)]
    full_env = {**os.environ, **env}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(KILL_RUNNER.parents[3]), full_env.get("PYTHONPATH")) if p
    )
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["--master-port", str(29500 + os.getpid() % 1000)]
    command += head
    return subprocess.run(
        [*command, *args], cwd=work, env=full_env, capture_output=True, text=True, timeout=300
    )


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "last.safetensors")


def test_two_processes_train_what_one_trains_and_only_rank_0_reports(work) -> None:
    one = subprocess.run(
        [sys.executable, "-m", "archc", *ARGS, "--out", "one"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert one.returncode == 0, one.stderr
    two = _torchrun(work, [*ARGS, "--out", "two"])
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("epoch 2/2") == 1  # rank 1 says nothing
    a, b = _weights(work / "one"), _weights(work / "two")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6
    lines = {r: (work / r / "metrics.jsonl").read_text().splitlines() for r in ("one", "two")}
    for solo, shared in zip(lines["one"], lines["two"], strict=True):  # global numbers
        solo, shared = json.loads(solo), json.loads(shared)
        assert shared["images"] == solo["images"] > 0
        assert shared["loss"] == pytest.approx(solo["loss"], rel=1e-6)


def test_a_killed_rank_resumes_to_the_uninterrupted_weights(work) -> None:
    straight = _torchrun(work, [*ARGS, "--out", "straight"])
    assert straight.returncode == 0, straight.stderr
    # 6 steps per epoch: rank 1 dies in epoch 2
    killed = _torchrun(work, [*ARGS, "--out", "killed"], kill_after=8, ARCHC_KILL_RANK="1")
    assert killed.returncode != 0
    resumed = _torchrun(work, ["supernet", "train", "nobn.arch", "--out", "killed", "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1" in resumed.stdout
    a, b = _weights(work / "straight"), _weights(work / "killed")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_global_batch_that_does_not_divide_among_the_ranks_is_refused(work) -> None:
    args = [*ARGS, "--out", "odd"]
    args[args.index("--batch") + 1] = "7"
    proc = _torchrun(work, args)
    assert proc.returncode != 0
    assert "--batch 7 is the global batch: it must divide among the 2 processes" in proc.stderr
    assert not (work / "odd").exists()


def test_commands_that_do_not_train_refuse_torchrun(monkeypatch, capsys) -> None:
    from archc.cli.main import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["search", "s.arch", "--data", "d", "--out", "o"]) == 1
    assert "under torchrun only `archc train` and `archc supernet train`" in (
        capsys.readouterr().err
    )
