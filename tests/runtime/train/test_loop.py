"""`fit` around a `TrainStep`: a step with two modules, two optimisers and state of its
own resumes exactly; a failed validation loses no training; a locked run folder is
refused; a diverged loss stops the run, naming the last good checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import archc
from archc.runtime.lock import RunLock
from archc.runtime.train import TrainConfig, TrainError, checkpoint, fit, geometry_of, metrics
from archc.runtime.train import loop as loop_module
from archc.runtime.train.step import PlainStep, StepContext
from archc.torch import build_module
from tests.runtime.train.train_fixtures import make_data, write_net


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    return archc.load(write_net(tmp_path_factory.mktemp("nets")))


def _config(data: Path, **options) -> TrainConfig:
    base = {"data": str(data), "epochs": 2, "batch": 2, "workers": 0, "threads": 1}
    return TrainConfig(**{**base, "deterministic": True, **options})


class TwoPartStep:
    """The model, a second module trained by its own optimiser, and JSON state that
    depends on everything drawn: what a controller or a bi-level step needs."""

    kind = "two-part"

    def __init__(self, model: nn.Module):
        self.model = model
        self.head = nn.Linear(4, 1)
        self.opt_model = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.opt_head = torch.optim.SGD(self.head.parameters(), lr=0.1, momentum=0.9)
        self.draws: list[float] = []

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model, "head": self.head}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": self.opt_model, "head": self.opt_head}

    def begin_epoch(self, epoch: int, lr: float) -> None:
        for group in self.opt_model.param_groups:
            group["lr"] = lr

    def step(self, batch, ctx: StepContext) -> dict[str, float]:
        images, target, _weight, _ = ctx.to_device(batch)
        noise = torch.randn(4, generator=ctx.torch_rng(1))
        loss = ((self.model(images) - target) ** 2).mean() + self.head(noise).pow(2).sum()
        self.opt_model.zero_grad()
        self.opt_head.zero_grad()
        ctx.backward(loss)
        ctx.optimizer_step(self.opt_model)
        ctx.optimizer_step(self.opt_head)
        self.draws.append(ctx.rng(2).random())
        return {"loss": loss.detach(), "noise": float(noise.sum())}

    def validate(self, evaluate, results):
        return {**evaluate(self.model, results), "draws": len(self.draws)}

    def state_dict(self) -> dict[str, Any]:
        return {"draws": list(self.draws)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.draws = list(state["draws"])


def _step(micro) -> TwoPartStep:
    torch.manual_seed(0)
    return TwoPartStep(build_module(micro))


def _tensors(step: TwoPartStep) -> dict[str, torch.Tensor]:
    out = {f"m.{k}": v for k, v in step.model.state_dict().items()}
    out |= {f"h.{k}": v for k, v in step.head.state_dict().items()}
    for name, opt in step.optimizers().items():
        for i, entry in opt.state_dict()["state"].items():
            out |= {f"{name}.{i}.{k}": v for k, v in entry.items() if torch.is_tensor(v)}
    return out


def test_a_step_with_two_modules_resumes_exactly(micro, data, tmp_path) -> None:
    geometry = geometry_of(micro)
    straight = _step(micro)
    fit(straight, geometry, _config(data), tmp_path / "straight")

    def crash(info):
        if info["step"] == 3:  # in the middle of epoch 2
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(_step(micro), geometry, _config(data), tmp_path / "split", on_step=crash)
    # A new process builds fresh objects: they resume from the folder alone.
    again = _step(micro)
    records = fit(again, geometry, _config(data), tmp_path / "split", resume=True)
    assert [r["epoch"] for r in records] == [2]
    a, b = _tensors(straight), _tensors(again)
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert again.draws == straight.draws and len(straight.draws) == 4
    assert "noise" in records[0] and records[0]["draws"] == 4


def test_another_kind_of_step_cannot_resume_a_run(micro, data, tmp_path) -> None:
    fit(_step(micro), geometry_of(micro), _config(data, epochs=1), tmp_path / "run")
    with pytest.raises(TrainError, match=r"holds a `two-part` run, not a `plain` one"):
        config = _config(data, epochs=1)
        fit(build_module(micro), geometry_of(micro), config, tmp_path / "run", resume=True)


def test_a_failed_validation_loses_no_training(micro, data, tmp_path, monkeypatch) -> None:
    geometry, run = geometry_of(micro), tmp_path / "run"
    torch.manual_seed(0)
    straight = build_module(micro)
    expected = fit(straight, geometry, _config(data, epochs=1), tmp_path / "straight")
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("validation broke")

    monkeypatch.setattr(loop_module, "evaluate", broken)
    torch.manual_seed(0)
    with pytest.raises(RuntimeError, match="validation broke"):
        fit(build_module(micro), geometry, _config(data, epochs=1), run)
    assert checkpoint.read_run_config(run) and (run / "last.json").is_file()
    assert metrics.read(run) == [] and calls == [1]
    monkeypatch.undo()
    module = build_module(micro)
    assert fit(module, geometry, _config(data, epochs=1), run, resume=True) == []
    [line] = metrics.read(run)
    timing = {"images_per_s", "train_seconds", "val_seconds", "seconds"}
    assert {k: v for k, v in line.items() if k not in timing} == {
        k: v for k, v in expected[0].items() if k not in timing
    }
    assert all(
        torch.equal(a, b)
        for a, b in zip(module.state_dict().values(), straight.state_dict().values(), strict=True)
    )


def test_a_diverged_loss_stops_the_run_naming_the_checkpoint(micro, data, tmp_path) -> None:
    step = PlainStep(build_module(micro))
    original = step.step
    calls = []

    def diverging(batch, ctx):
        calls.append(ctx.batch)
        out = original(batch, ctx)
        return {**out, "loss": float("nan")} if len(calls) == 2 else out

    step.step = diverging
    with pytest.raises(
        TrainError,
        match=r"diverged in epoch 1 at batch 2 \(step 2\): loss is not finite; .* none yet",
    ):
        fit(step, geometry_of(micro), _config(data), tmp_path / "run")
    assert calls == [0, 1]  # stopped at once, not at the end of the epoch


def test_a_locked_run_folder_is_refused(micro, data, tmp_path) -> None:
    run = tmp_path / "run"
    fit(build_module(micro), geometry_of(micro), _config(data, epochs=1), run)
    config = _config(data, epochs=1)
    with RunLock(run), pytest.raises(TrainError, match=rf"in use by pid {os.getpid()}"):
        fit(build_module(micro), geometry_of(micro), config, run, resume=True)
    (tmp_path / "new").mkdir()
    with RunLock(tmp_path / "new"), pytest.raises(TrainError, match="in use by pid"):
        fit(build_module(micro), geometry_of(micro), config, tmp_path / "new")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [".lock"]


def test_a_stale_lock_of_a_dead_process_is_taken_over(micro, data, tmp_path) -> None:
    run = tmp_path / "run"
    fit(build_module(micro), geometry_of(micro), _config(data, epochs=1), run)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (run / ".lock").write_text(dead.stdout)
    (run / "last.json").unlink()  # as if killed in the first epoch
    records = fit(
        build_module(micro), geometry_of(micro), _config(data, epochs=1), run, resume=True
    )
    assert [r["epoch"] for r in records] == [1]


def test_a_run_that_cannot_start_leaves_no_lock_behind(micro, tmp_path) -> None:
    with pytest.raises(TrainError, match="no such data directory"):
        fit(build_module(micro), geometry_of(micro), _config(tmp_path / "none"), tmp_path / "r")
    assert not (tmp_path / "r").exists()
