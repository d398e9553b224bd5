"""The epoch loop: Adam on the heatmap MSE, a per-epoch schedule, validation,
a checkpoint after every epoch, and an exact resume.

Epoch `e` (0-based) runs, in order: reseed torch (`device.seed_epoch`), set the
rate `schedule.lr_at(config, e)`, train on the shuffled batches of
`data.train_loader(e)`, validate when due, commit the checkpoint, append the
metrics line, call `on_epoch`. Everything an epoch draws depends on (seed, e),
and everything it updates (weights, Adam moments, scaler, best AP) is in the
checkpoint, so a run killed anywhere and resumed restarts the unfinished epoch
from the last committed state and ends with the same weights as a run never
interrupted (bit-identical on CPU in deterministic mode; tested).

Mixed precision (float16 `torch.autocast` and a `GradScaler`) is used on CUDA
only; the loss is computed in float32.

The library prints nothing: `progress(iterable, total, desc)` wraps the batch
iterators (the CLI passes a tqdm bar) and `on_epoch(record)` receives every
metrics line.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from archc.runtime.pose.evaluate import KEYPOINT_METRICS
from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.train import checkpoint, metrics
from archc.runtime.train.config import NetGeometry, TrainConfig, TrainError
from archc.runtime.train.data import SplitData, find_split, load_split, train_loader
from archc.runtime.train.device import amp_enabled, configure, seed_epoch, select_device
from archc.runtime.train.schedule import lr_at, set_lr
from archc.runtime.train.validate import Progress, _no_progress, evaluate

VAL_RESULTS = "val_results.json"
# Test hook: SIGKILL this process after N optimizer steps (simulates a crash mid-epoch).
KILL_AFTER_STEPS_ENV = "ARCHC_TRAIN_KILL_AFTER_STEPS"


@dataclasses.dataclass
class Run:
    """Everything one epoch needs, built once by `fit`."""

    model: torch.nn.Module
    config: TrainConfig
    run_dir: Path
    net: str
    device: torch.device
    amp: bool
    train: SplitData
    val: SplitData
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    progress: Progress
    best: dict[str, Any] = dataclasses.field(default_factory=lambda: {"AP": None, "epoch": None})
    steps: int = 0


def fit(
    model: torch.nn.Module,
    geometry: NetGeometry,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    net_info: dict[str, Any] | None = None,
    resume: bool = False,
    on_start: Callable[[dict[str, Any]], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    progress: Progress = _no_progress,
) -> list[dict[str, Any]]:
    """Train `model` for `config.epochs` epochs in `run_dir`; returns the metrics lines
    of the epochs run now. With `resume`, `config` must be the run's own
    (`checkpoint.read_run_config`) up to `config.RESUME_MAY_CHANGE`.

    `on_start` gets {device, amp, threads, train_persons, val_persons, start_epoch}
    once the data is loaded and the checkpoint restored; `on_epoch` every metrics line.
    """
    run_dir = Path(run_dir)
    if resume:
        _check_resumable(run_dir, config)
    device = select_device(config.device)
    if config.deterministic and config.threads is None:
        config = dataclasses.replace(config, threads=torch.get_num_threads())
    created = checkpoint.prepare_run_dir(run_dir, resume)
    try:
        if not resume:  # from now on the run can be resumed, even before an epoch ends
            net = {**geometry.to_dict(), **(net_info or {})}
            checkpoint.write_run_config(run_dir, config, net)
        configure(config, device)
        run = _setup(model, geometry, config, run_dir, device, progress)
    except BaseException:
        if not resume:  # a run that never started leaves nothing behind
            (run_dir / checkpoint.CONFIG_FILE).unlink(missing_ok=True)
            checkpoint.remove_created(created)
        raise
    start = _restore(run) if resume else 0
    if on_start is not None:
        on_start(
            {
                "device": str(device),
                "amp": run.amp,
                "threads": torch.get_num_threads(),
                "train_persons": len(run.train.indices),
                "val_persons": len(run.val.indices),
                "start_epoch": start,
            }
        )
    records = []
    for epoch in range(start, config.epochs):
        record = run_epoch(run, epoch)
        records.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return records


def _check_resumable(run_dir: Path, config: TrainConfig) -> None:
    if not (run_dir / checkpoint.CONFIG_FILE).is_file():
        raise TrainError(
            f"{run_dir}: nothing to resume (no {checkpoint.CONFIG_FILE}); start "
            "a new run without --resume"
        )
    saved, _ = checkpoint.read_run_config(run_dir)
    changed = config.differences(saved)
    if changed:
        raise TrainError(
            f"{run_dir}: a resumed run keeps its options; changed: " + "; ".join(changed)
        )


def _setup(
    model,
    geometry: NetGeometry,
    config: TrainConfig,
    run_dir: Path,
    device: torch.device,
    progress: Progress,
) -> Run:
    train = load_split(
        find_split(config.data, "train"), geometry, config, train=True, limit=config.limit_train
    )
    val = load_split(
        find_split(config.data, "val"), geometry, config, train=False, limit=config.limit_val
    )
    if len(train.indices) < 2:
        raise TrainError(
            f"{train.dataset.ann_file}: training needs at least 2 persons (batch norm), found 1"
        )
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    amp = amp_enabled(config, device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    return Run(
        model, config, run_dir, geometry.name, device, amp, train, val, optimizer, scaler, progress
    )


def _restore(run: Run) -> int:
    """Load the last committed epoch; returns the number of finished epochs."""
    ckpt = checkpoint.load_checkpoint(run.run_dir, run.model, run.optimizer)
    if ckpt is None:  # killed during the first epoch: start again
        metrics.sync(run.run_dir, 0, None)
        return 0
    if run.amp and ckpt.scaler:
        run.scaler.load_state_dict(ckpt.scaler)
    run.best = ckpt.best
    metrics.sync(run.run_dir, ckpt.epoch, ckpt.record)
    return ckpt.epoch


def train_one_epoch(run: Run, epoch: int) -> tuple[float, int]:
    """One pass over the epoch's batches; returns (mean loss, crops seen)."""
    model, device, criterion = run.model, run.device, JointsMSELoss(use_target_weight=True)
    model.train()
    loader = train_loader(run.train, run.config, epoch, pin=device.type == "cuda")
    total, seen = torch.zeros((), device=device, dtype=torch.float64), 0
    kill_after = int(os.environ.get(KILL_AFTER_STEPS_ENV, "0") or 0)
    desc = f"epoch {epoch + 1}/{run.config.epochs}"
    for images, target, weight, _meta in run.progress(loader, len(loader), desc):
        images = images.to(device, non_blocking=True)
        target, weight = target.to(device, non_blocking=True), weight.to(device)
        with torch.autocast(device.type, dtype=torch.float16, enabled=run.amp):
            output = model(images)
        loss = criterion(output.float(), target, weight)
        run.optimizer.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.optimizer)
        run.scaler.update()
        total += loss.detach().double() * len(images)
        seen += len(images)
        run.steps += 1
        if kill_after and run.steps >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    return float(total) / max(seen, 1), seen


def run_epoch(run: Run, epoch: int) -> dict[str, Any]:
    config, begin = run.config, time.perf_counter()
    seed_epoch(config.seed, epoch)
    lr = lr_at(config, epoch)
    set_lr(run.optimizer, lr)
    loss, seen = train_one_epoch(run, epoch)
    train_seconds = time.perf_counter() - begin
    stats: dict[str, float | None] = dict.fromkeys(KEYPOINT_METRICS)
    if (epoch + 1) % config.val_every == 0 or epoch + 1 == config.epochs:
        stats = evaluate(
            run.model,
            run.val,
            batch=config.batch,
            device=run.device,
            flip=config.flip_test,
            amp=run.amp,
            workers=config.workers,
            results_path=run.run_dir / VAL_RESULTS,
            progress=run.progress,
        )
        if run.best["AP"] is None or stats["AP"] > run.best["AP"]:
            run.best = {"AP": stats["AP"], "epoch": epoch + 1}
            checkpoint.save_best(run.run_dir, run.model, run.net, epoch + 1, stats["AP"])
    val_seconds = time.perf_counter() - begin - train_seconds
    record = {
        "epoch": epoch + 1,
        "epochs": config.epochs,
        "lr": lr,
        "loss": loss,
        "images": seen,
        "images_per_s": seen / max(train_seconds, 1e-9),
        "train_seconds": train_seconds,
        "val_seconds": val_seconds,
        "seconds": None,
        **stats,
        "best_AP": run.best["AP"],
        "best_epoch": run.best["epoch"],
    }
    record["seconds"] = time.perf_counter() - begin
    ckpt = checkpoint.Checkpoint(epoch + 1, run.best, record, run.scaler.state_dict())
    checkpoint.save_checkpoint(run.run_dir, run.model, run.optimizer, ckpt, run.net)
    metrics.append(run.run_dir, record)
    return record
