"""Evaluations on Ray actors (`archc search --workers N`): measurements in proposal order,
a killed worker replaced without losing or repeating a config, and a whole search
whose trial log equals the one-process search's. Skipped where Ray is not installed
(`pip install 'archc[ray]'`; `make setup` installs it)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from archc.cli.main import main as cli
from tests.runtime.search.search_fixtures import synth_data, write_space

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'archc[ray]'")

from archc.runtime.search.ray_pool import RayEvaluator  # noqa: E402


class SlowSquare:
    """A light worker: `score` = x * x after `delay` seconds; counts its calls in a file."""

    def __init__(self, args: dict, threads: int):
        self.log, self.delay = Path(args["log"]), args["delay"]

    def open(self) -> bool:
        return True

    def evaluate(self, config: dict) -> dict:
        with self.log.open("a") as f:
            f.write(f"{os.getpid()} {config['x']}\n")
        time.sleep(self.delay * (1 + config["x"] % 3))
        return {"score": config["x"] ** 2, "x": config["x"]}

    def pid(self) -> int:
        return os.getpid()


@pytest.fixture(scope="module")
def local_ray():
    here = Path(__file__).resolve()  # workers import this module's classes, as pytest named it
    root = os.pathsep.join([str(here.parent), str(here.parents[3])])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="ERROR",
        runtime_env={"env_vars": {"PYTHONPATH": root}},
    )
    yield
    ray.shutdown()


def test_measurements_come_back_in_proposal_order(local_ray, tmp_path) -> None:
    args = {"log": str(tmp_path / "calls"), "delay": 0.02}
    pool = RayEvaluator(2, args, worker=SlowSquare)
    try:
        out = list(pool([{"x": x} for x in range(9)]))
    finally:
        pool.close()
    assert [r["x"] for r in out] == list(range(9))
    assert [r["score"] for r in out] == [x * x for x in range(9)]
    assert len((tmp_path / "calls").read_text().splitlines()) == 9  # each config once


def test_a_killed_worker_is_replaced_and_its_config_evaluated_again(local_ray, tmp_path):
    args = {"log": str(tmp_path / "calls"), "delay": 0.3}
    pool = RayEvaluator(2, args, worker=SlowSquare)
    try:
        victim = pool.pids()[0]
        results = pool([{"x": x} for x in range(6)])
        first = next(results)  # the workers are busy with the next configs now
        os.kill(victim, signal.SIGKILL)
        out = [first, *results]
    finally:
        pool.close()
    assert [r["x"] for r in out] == list(range(6))  # none lost, none repeated
    assert pool.restarts == 1
    calls = [line.split() for line in (tmp_path / "calls").read_text().splitlines()]
    by_victim = [x for pid, x in calls if int(pid) == victim]
    assert by_victim  # it was working when it died; its config was run again elsewhere
    assert sorted({x for _, x in calls}) == [str(x) for x in range(6)]


@pytest.fixture(scope="module")
def supernet(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("ray_search")
    write_space(work)
    synth_data(work / "data", train=24, val=8)
    args = ["supernet", "train", str(work / "small.arch"), "--data", str(work / "data")]
    args += ["--epochs", "1", "--batch", "8", "--workers", "0", "--calibration", "16"]
    assert cli([*args, "--out", str(work / "sn")]) == 0
    return work


def _search(work: Path, out: str, *extra: str) -> list[dict]:
    args = ["search", str(work / "small.arch"), "--supernet", str(work / "sn")]
    args += ["--data", str(work / "data"), "--out", str(work / out), "--threads", "1"]
    args += ["--evaluations", "8", "--batch", "4", "--calibration", "16", "--no-export"]
    assert cli([*args, *extra]) == 0
    lines = (work / out / "trials.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in lines]


def test_a_search_on_two_ray_workers_logs_what_one_process_logs(supernet) -> None:
    one = _search(supernet, "one")
    two = _search(supernet, "two", "--workers", "2")
    assert len(one) == 8 and one == two
    manifest = json.loads((supernet / "two" / "manifest.json").read_text())
    assert manifest["options"]["workers"] == 2


def test_a_search_resumed_on_ray_workers_continues_the_one_process_log(supernet) -> None:
    full = _search(supernet, "full", "--evaluations", "12")
    _search(supernet, "grown", "--evaluations", "4")  # one process, then Ray takes over
    grown = _search(supernet, "grown", "--evaluations", "12", "--workers", "2", "--resume")
    assert grown == full
