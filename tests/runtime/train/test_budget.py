"""`--budget-seconds`: a run's length fixed from its first epoch's time, exactly once.

The rule is tested with given times (a test cannot wait for minutes), the loop with a
budget far below and far above one epoch's time (so the outcome does not depend on the
machine), and the resume with the length already fixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from archc.runtime.train import TrainConfig, TrainError, checkpoint, metrics
from archc.runtime.train.loop import _fix_length
from tests.runtime.train.train_fixtures import make_data, run_archc, write_net


def test_the_epochs_that_fit_the_budget_after_the_first_epoch() -> None:
    config = TrainConfig(data="d", epochs=50, budget_seconds=100.0)
    assert config.with_budget_epochs(30.0).epochs == 3
    assert config.with_budget_epochs(40.0).epochs == 2  # nearest: 2.5 -> 2 (even)
    assert config.with_budget_epochs(45.0).epochs == 2 and config.with_budget_epochs(35).epochs == 3
    assert config.with_budget_epochs(1000.0).epochs == 1  # one epoch is already spent
    assert config.with_budget_epochs(0.5).epochs == 50  # --epochs is the most there may be
    fixed = config.with_budget_epochs(30.0)
    assert fixed.with_budget_epochs(30.0) is fixed  # idempotent: a resume finds the same
    plain = TrainConfig(data="d", epochs=5)
    assert plain.with_budget_epochs(1.0) is plain


def test_a_budget_must_be_positive() -> None:
    with pytest.raises(TrainError, match="budget_seconds must be > 0"):
        TrainConfig(data="d", budget_seconds=0.0)


def test_a_resume_may_repeat_the_epochs_the_budget_replaced() -> None:
    saved = TrainConfig(data="d", epochs=3, budget_seconds=100.0)
    assert TrainConfig(data="d", epochs=50, budget_seconds=100.0).differences(saved) == []
    changed = TrainConfig(data="d", epochs=50, budget_seconds=200.0).differences(saved)
    assert any(c.startswith("budget_seconds") for c in changed)
    assert any(c.startswith("epochs") for c in changed)  # another budget frees nothing


def test_the_fixed_length_is_written_to_the_run_config(tmp_path: Path) -> None:
    config = TrainConfig(data="d", epochs=50, budget_seconds=100.0)
    checkpoint.write_run_config(tmp_path, config, {"name": "n"})
    metrics.append(tmp_path, {"epoch": 1, "seconds": 30.0})
    run = SimpleNamespace(config=config, run_dir=tmp_path, ranks=SimpleNamespace(main=True))
    assert _fix_length(run, 0) == 50  # before the first epoch nothing is known
    assert _fix_length(run, 1) == 3
    saved, net = checkpoint.read_run_config(tmp_path)
    assert (saved.epochs, saved.budget_seconds, net) == (3, 100.0, {"name": "n"})
    assert _fix_length(run, 2) == 3 and run.config is not config


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("budget")
    make_data(work / "data")
    write_net(work)
    return work


def _train(work: Path, out: str, *extra: str):
    args = ["train", "micro.arch", "--data", "data", "--batch", "2", "--workers", "0"]
    return run_archc([*args, "--threads", "1", "--out", out, *extra], work)


def _epochs(run: Path) -> tuple[int, list[int]]:
    saved = json.loads((run / "config.json").read_text())["config"]["epochs"]
    return saved, [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").open()]


def test_a_budget_shorter_than_one_epoch_trains_one(work: Path) -> None:
    proc = _train(work, "short", "--epochs", "4", "--budget-seconds", "1e-6")
    assert proc.returncode == 0, proc.stderr
    assert "for about 1e-06 s (at most 4 epochs)" in proc.stdout
    assert _epochs(work / "short") == (1, [1])
    again = _train(work, "short", "--epochs", "4", "--budget-seconds", "1e-6", "--resume")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout and _epochs(work / "short") == (1, [1])


def test_a_first_epoch_that_is_the_last_is_validated_whatever_val_every(work: Path) -> None:
    proc = _train(work, "once", "--epochs", "4", "--budget-seconds", "1e-6", "--val-every", "9")
    assert proc.returncode == 0, proc.stderr
    line = json.loads((work / "once" / "metrics.jsonl").read_text())
    assert line["epoch"] == 1 and line["AP"] is not None


def test_a_budget_longer_than_the_epochs_trains_them_all(work: Path) -> None:
    proc = _train(work, "long", "--epochs", "2", "--budget-seconds", "1e6")
    assert proc.returncode == 0, proc.stderr
    assert _epochs(work / "long") == (2, [1, 2])
