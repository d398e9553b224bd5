"""`fit`: the one epoch loop, around any `TrainStep` (step.py).

Epoch `e` (0-based) runs, in order: reseed torch (`device.seed_epoch`), give
the step the rate `schedule.lr_at(config, e)`, run the step on every batch of
`data.train_loader(e)`, commit the checkpoint, validate when due, commit the
validation, append the metrics line, call `on_epoch`. Everything an epoch
draws depends on (seed, e, batch), and everything it updates (the step's
modules, optimisers and state, the gradient scaler, the best AP) is in the
checkpoint, so a run killed anywhere and resumed restarts the unfinished
epoch from the last committed state and ends with the same weights as a run
never interrupted (bit-identical on CPU in deterministic mode; tested).

Why the checkpoint comes before validation: validation may fail (a missing
optional package, a bad validation file) or be killed; the epoch's training
is then already safe, and a resume runs only the validation that is due.

Mixed precision (float16 `torch.autocast` and a `GradScaler`) is used on CUDA
only; losses are computed in float32. The library prints nothing:
`progress(iterable, total, desc)` wraps the batch iterators (the CLI passes a
tqdm bar), `on_step(info)` sees every step (tests kill the process from it)
and `on_epoch(record)` every metrics line. The run folder is locked for the
whole run (`lock.py`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from archc.runtime.ops.regularise import set_drop_path_scale
from archc.runtime.pose.evaluate import KEYPOINT_METRICS
from archc.runtime.train import checkpoint, metrics
from archc.runtime.train.config import NetGeometry, TrainConfig, TrainError
from archc.runtime.train.data import (
    HeldOutBatches,
    SplitData,
    find_split,
    load_split,
    run_calibration,
    split_held_out,
    train_loader,
)
from archc.runtime.train.device import amp_enabled, configure, seed_epoch, select_device
from archc.runtime.train.distributed import Ranks
from archc.runtime.train.schedule import drop_path_scale_at, lr_at
from archc.runtime.train.step import PlainStep, StepContext, TrainStep
from archc.runtime.train.validate import Progress, _no_progress, evaluate

VAL_RESULTS = "val_results.json"
Callback = Callable[[dict[str, Any]], None]


@dataclasses.dataclass
class Run:
    """Everything one epoch needs, built once by `fit`."""

    step: TrainStep
    config: TrainConfig
    run_dir: Path
    net: str
    ctx: StepContext
    train: SplitData
    val: SplitData
    progress: Progress
    geometry: NetGeometry | None = None
    on_step: Callback | None = None
    held_out: SplitData | None = None
    validation: Any = None
    ranks: Ranks = dataclasses.field(default_factory=Ranks)
    best: dict[str, Any] = dataclasses.field(default_factory=lambda: {"AP": None, "epoch": None})
    steps: int = 0

    @property
    def model(self) -> torch.nn.Module:
        return checkpoint.model_of(self.step)


def fit(
    step: TrainStep | torch.nn.Module,
    geometry: NetGeometry,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    net_info: dict[str, Any] | None = None,
    resume: bool = False,
    on_start: Callback | None = None,
    on_epoch: Callback | None = None,
    on_step: Callback | None = None,
    progress: Progress = _no_progress,
) -> list[dict[str, Any]]:
    """Train for `config.epochs` epochs in `run_dir`; returns the metrics lines of the
    epochs run now. `step` is a `TrainStep`, or a module for plain training. With
    `resume`, `config` must be the run's own (`checkpoint.read_run_config`) up to
    `config.RESUME_MAY_CHANGE`.

    `on_start` gets {device, amp, threads, train_persons, val_persons,
    held_out_persons, skipped (split -> reason -> persons the loaders skip), start_epoch}
    once the data is loaded and the checkpoint restored; `on_step` gets {epoch, batch,
    step, metrics} after every step; `on_epoch` every metrics line.
    """
    if isinstance(step, torch.nn.Module):
        step = PlainStep(step, lr=config.lr, weight_decay=config.weight_decay)
    run_dir = Path(run_dir)
    ranks = Ranks.from_env(select_device(config.device).type)
    ranks.check_batch(config.batch)
    created = checkpoint.make_run_dir(run_dir, resume) if ranks.main else []
    lock = checkpoint.lock_run(run_dir, created) if ranks.main else None  # rank 0 owns the folder
    try:
        try:
            run, start = _start(step, geometry, config, run_dir, net_info, resume, progress, ranks)
        except BaseException:
            if lock is not None:
                checkpoint.unlock_and_remove(lock, created, new=not resume)
            raise
        run.on_step = on_step
        if on_start is not None:
            on_start(
                {
                    "device": str(run.ctx.device),
                    "amp": run.ctx.amp,
                    "threads": torch.get_num_threads(),
                    "train_persons": len(run.train.indices),
                    "val_persons": len(run.val.indices),
                    "held_out_persons": len(run.held_out.indices) if run.held_out else 0,
                    "skipped": {"train": run.train.dataset.skipped, "val": run.val.dataset.skipped},
                    "start_epoch": start,
                }
            )
        records = []
        epoch = start
        while epoch < _fix_length(run, epoch):
            record = run_epoch(run, epoch)
            records.append(record)
            if on_epoch is not None:
                on_epoch(record)
            epoch += 1
        return records
    finally:
        if lock is not None:
            lock.release()


def _fix_length(run: Run, epoch: int) -> int:
    """The run's epochs; with a time budget, fixed from the first epoch's time once it
    is done (and written to config.json by rank 0, so a resume reads the same length)."""
    config = run.config
    if config.budget_seconds is None or epoch == 0:
        return config.epochs
    first = next((r for r in metrics.read(run.run_dir) if r.get("epoch") == 1), None)
    if first is None:  # metrics.sync restores the committed epochs' lines: cannot happen
        raise TrainError(f"{run.run_dir}: the first epoch's metrics line is missing")
    fixed = config.with_budget_epochs(first["seconds"])
    if fixed is not config:
        run.config = fixed
        if run.ranks.main:
            _, net = checkpoint.read_run_config(run.run_dir)
            checkpoint.write_run_config(run.run_dir, fixed, net)
    return fixed.epochs


def _start(step, geometry, config, run_dir, net_info, resume, progress, ranks) -> tuple[Run, int]:
    """The run, set up and restored; returns it with the epoch to start from."""
    if resume:
        _check_resumable(run_dir, config)
    device = select_device(config.device)
    if device.type == "cuda" and ranks.world > 1:
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if config.deterministic and config.threads is None:
        config = dataclasses.replace(config, threads=torch.get_num_threads())
    created = checkpoint.prepare_run_dir(run_dir, resume) if ranks.main else []
    try:
        if not resume and ranks.main:  # from now on the run can be resumed
            net = {**geometry.to_dict(), **(net_info or {})}
            checkpoint.write_run_config(run_dir, config, net)
        ranks.barrier()
        configure(config, device)
        run = _setup(step, geometry, config, run_dir, device, progress, ranks)
    except BaseException:
        if not resume and ranks.main:  # a run that never started leaves nothing behind
            (run_dir / checkpoint.CONFIG_FILE).unlink(missing_ok=True)
            checkpoint.remove_created(created)
        raise
    return run, (_restore(run) if resume else 0)


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


def _setup(step, geometry, config, run_dir, device, progress, ranks: Ranks) -> Run:
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
    held_out = None
    fraction = getattr(step, "held_out", 0.0)
    if fraction:
        train, held_out = split_held_out(train, fraction, config.seed)
    for module in step.modules().values():
        module.to(device)
    amp = amp_enabled(config, device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    ctx = StepContext(device, amp, scaler, config.seed, ranks=ranks)
    run = Run(step, config, run_dir, geometry.name, ctx, train, val, progress, geometry)
    run.held_out, run.ranks = held_out, ranks
    return run


def _restore(run: Run) -> int:
    """Load the last committed epoch; returns the number of finished epochs (a
    committed epoch whose validation was due and did not finish is validated now)."""
    ckpt = checkpoint.load_checkpoint(run.run_dir, run.step)
    main = run.ranks.main
    if ckpt is None:  # killed during the first epoch: start again
        if main:
            metrics.sync(run.run_dir, 0, None)
        return 0
    if run.ctx.amp and ckpt.scaler:
        run.ctx.scaler.load_state_dict(ckpt.scaler)
    run.best = ckpt.best
    if ckpt.validated and main:
        metrics.sync(run.run_dir, ckpt.epoch, ckpt.record)
    elif main:
        metrics.sync(run.run_dir, ckpt.epoch - 1, None)
        _validate_and_commit(run, ckpt)
    run.ranks.barrier()
    return ckpt.epoch


def train_one_epoch(run: Run, epoch: int) -> tuple[dict[str, float], int]:
    """One pass over the epoch's batches; returns (mean step metrics, crops seen)."""
    ctx = run.ctx
    ctx.epoch = epoch
    for module in run.step.modules().values():
        module.train()  # validation left them in eval mode
    pin = ctx.device.type == "cuda"
    if run.validation is None:
        run.validation = _Validation(run)
    ctx.validation = run.validation
    loader = train_loader(run.train, run.config, epoch, pin=pin, ranks=run.ranks)
    if run.held_out is not None:
        ctx.held_out = HeldOutBatches(run.held_out, run.config, epoch, pin)
    totals: dict[str, torch.Tensor] = {}
    seen = 0
    desc = f"epoch {epoch + 1}/{run.config.epochs}"
    for index, batch in enumerate(run.progress(loader, len(loader), desc)):
        ctx.batch = index
        values = run.step.step(batch, ctx)
        ctx.scaler.update()
        n = len(batch[0])
        step_values = {k: torch.as_tensor(v).detach().double().cpu() for k, v in values.items()}
        _refuse_non_finite(step_values, epoch, index, run)
        for key, value in step_values.items():
            totals[key] = totals[key] + value * n if key in totals else value * n
        seen += n
        run.steps += 1
        if run.on_step is not None:
            run.on_step({"epoch": epoch, "batch": index, "step": run.steps, "metrics": values})
    totals = run.ranks.total({**totals, "": torch.tensor(float(seen))})
    seen = int(totals.pop(""))
    means = {key: float(total) / max(seen, 1) for key, total in totals.items()}
    return means, seen


def _refuse_non_finite(values: dict[str, torch.Tensor], epoch: int, batch: int, run: Run) -> None:
    """Stop at the first non-finite step metric: nothing of this epoch is committed, so
    the last checkpoint holds no NaN (weights or architecture parameters)."""
    bad = [k for k, v in values.items() if not bool(torch.isfinite(v).all())]
    if bad:
        last = f"epoch {epoch} (RUN/last.json)" if epoch else "none yet"
        raise TrainError(
            f"training diverged in epoch {epoch + 1} at batch {batch + 1} (step "
            f"{run.steps + 1}): {', '.join(bad)} is not finite; the last good checkpoint of "
            f"{run.run_dir} is {last}; lower --lr and start again"
        )


def run_epoch(run: Run, epoch: int) -> dict[str, Any]:
    config, begin = run.config, time.perf_counter()
    seed_epoch(config.seed, epoch)
    lr = lr_at(config, epoch)
    run.step.begin_epoch(epoch, lr)
    for module in run.step.modules().values():
        set_drop_path_scale(module, drop_path_scale_at(config, epoch))
    means, seen = train_one_epoch(run, epoch)
    train_seconds = time.perf_counter() - begin
    record = {
        "epoch": epoch + 1,
        "epochs": config.epochs,
        "lr": lr,
        "loss": means.pop("loss", None),
        "images": seen,
        "images_per_s": seen / max(train_seconds, 1e-9),
        "train_seconds": train_seconds,
        "val_seconds": 0.0,
        "seconds": train_seconds,
        **means,
        **dict.fromkeys(KEYPOINT_METRICS),
        "best_AP": run.best["AP"],
        "best_epoch": run.best["epoch"],
    }
    # the last epoch is always validated; with a time budget the first may be the last
    ends = epoch == 0 and config.with_budget_epochs(train_seconds).epochs == 1
    due = (epoch + 1) % config.val_every == 0 or epoch + 1 == config.epochs or ends
    ckpt = checkpoint.Checkpoint(
        epoch + 1,
        run.best,
        record,
        run.ctx.scaler.state_dict(),
        run.step.state_dict(),
        validated=not due,
    )
    if not run.ranks.main:  # rank 0 commits and validates; the others wait for it
        run.ranks.barrier()
        return record
    checkpoint.save_checkpoint(run.run_dir, run.step, ckpt, run.net)
    if due:
        record = _validate_and_commit(run, ckpt)
    else:
        metrics.append(run.run_dir, record)
    run.ranks.barrier()
    return record


def _validate_and_commit(run: Run, ckpt: checkpoint.Checkpoint) -> dict[str, Any]:
    """Validate the committed epoch, keep the best weights, commit, append the line."""
    begin = time.perf_counter()
    if run.validation is None:
        run.validation = _Validation(run)
    stats = run.step.validate(run.validation, str(run.run_dir / VAL_RESULTS))
    if stats.get("AP") is not None and (run.best["AP"] is None or stats["AP"] > run.best["AP"]):
        run.best = {"AP": stats["AP"], "epoch": ckpt.epoch}
        checkpoint.save_best(run.run_dir, run.model, run.net, ckpt.epoch, stats["AP"])
    val_seconds = time.perf_counter() - begin
    record = {
        **ckpt.record,
        "val_seconds": val_seconds,
        "seconds": ckpt.record["train_seconds"] + val_seconds,
        **stats,
        "best_AP": run.best["AP"],
        "best_epoch": run.best["epoch"],
    }
    done = dataclasses.replace(ckpt, best=run.best, record=record, validated=True)
    checkpoint.commit_validation(run.run_dir, done)
    metrics.append(run.run_dir, record)
    return record


class _Validation:
    """The loop's `Validation` (step.py): the val split, and calibration crops of the
    train split loaded unaugmented on first use and kept."""

    def __init__(self, run: Run):
        self.run = run
        self._calibration: dict[int, list[torch.Tensor]] = {}

    def __call__(self, model: torch.nn.Module, results: str | None) -> dict[str, float]:
        run, config = self.run, self.run.config
        return evaluate(
            model,
            run.val,
            batch=config.batch,
            device=run.ctx.device,
            flip=config.flip_test,
            amp=run.ctx.amp,
            workers=config.workers,
            results_path=results,
            progress=run.progress,
        )

    def calibration(self, crops: int) -> list[torch.Tensor]:
        if crops not in self._calibration:
            run = self.run
            self._calibration[crops] = run_calibration(
                run.config, run.geometry, crops, run.ctx.device
            )
        return self._calibration[crops]
