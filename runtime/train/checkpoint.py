"""Run directories and checkpoints: tensors in safetensors, state in JSON, never pickle.

Layout of RUN/ (docs/training.md):

    config.json                      options (`TrainConfig`) and the network, written once
    checkpoints/epoch_NNNN.safetensors        the model's weights after epoch NNNN
    checkpoints/epoch_NNNN.state.safetensors  every optimiser's tensors (Adam moments,
                                     steps) and the step's other modules (a controller)
    last.json                        the commit record: finished epochs, the two files
                                     above with their sha256, optimiser hyper-parameters,
                                     gradient-scaler state, the step's own state, best AP,
                                     the epoch's metrics, whether it was validated
    last.safetensors                 a copy of the last finished epoch's weights
    best.safetensors                 the weights with the best validation AP
    metrics.jsonl, val_results.json  see metrics.py and validate.py

The "model" is the first module of the run's `TrainStep` (`step.py`): the network
of `archc train`, the supernet of `archc supernet train`.

Why this order of writes: every file is written atomically (temporary file,
fsync, rename), the epoch's tensor files first, then `last.json`, which names
them. `last.json` is the commit: a kill at any moment leaves it naming a
complete pair of files of the last finished epoch, and files of older epochs
are removed only after the new commit. `last.safetensors` is refreshed after
the commit (and again on resume), for `archc eval` and `archc export`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from archc.kernel.files import write_atomic
from archc.runtime.lock import LOCK_FILE, RunInUse, RunLock
from archc.runtime.train.config import TrainConfig, TrainError
from archc.runtime.weights import WeightsError, load_weights, read_weights, tensors_bytes

CHECKPOINT_FORMAT = "archc-train-checkpoint"
CONFIG_FILE, LAST, LAST_WEIGHTS, BEST_WEIGHTS = (
    "config.json",
    "last.json",
    "last.safetensors",
    "best.safetensors",
)
CHECKPOINTS = "checkpoints"


def prepare_run_dir(run_dir: Path, resume: bool) -> list[Path]:
    """Create RUN for a new run (it must be absent or empty), or check it for a resume.

    Returns the folders created, which `remove_created` takes away again when the
    run fails before it starts (so the same command can be repeated).
    """
    if resume:
        if not (run_dir / CONFIG_FILE).is_file():
            raise TrainError(
                f"{run_dir}: nothing to resume (no {CONFIG_FILE}); start a new run without --resume"
            )
        for stale in (*run_dir.glob(".*.tmp"), *(run_dir / CHECKPOINTS).glob(".*.tmp")):
            stale.unlink(missing_ok=True)  # write_atomic's temporary files of a killed run
        (run_dir / CHECKPOINTS).mkdir(exist_ok=True)
        return []
    if run_dir.exists() and (
        not run_dir.is_dir() or any(p.name != LOCK_FILE for p in run_dir.iterdir())
    ):
        raise TrainError(
            f"{run_dir} is not empty: continue that run with --resume, or give another --out"
        )
    folder = run_dir / CHECKPOINTS
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(run_dir / ".write-test", "")
        (run_dir / ".write-test").unlink()
    except OSError as err:
        remove_created(created)
        raise TrainError(
            f"cannot write the run directory {run_dir}: {err.strerror or err}"
        ) from None
    return created


def remove_created(created: list[Path]) -> None:
    for folder in created:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


def write_run_config(run_dir: Path, config: TrainConfig, net: dict[str, Any]) -> None:
    doc = {"config": config.to_dict(), "net": net}
    write_atomic(run_dir / CONFIG_FILE, json.dumps(doc, indent=2) + "\n")


def read_run_config(run_dir: Path) -> tuple[TrainConfig, dict[str, Any]]:
    doc = _read_json(run_dir / CONFIG_FILE)
    return TrainConfig.from_dict(doc["config"], str(run_dir / CONFIG_FILE)), doc["net"]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise TrainError(f"{path}: unreadable ({err}); the run directory is damaged") from None


def optimizer_to_files(
    optimizer: torch.optim.Optimizer, prefix: str = ""
) -> tuple[dict[str, torch.Tensor], Any]:
    """(tensors for safetensors, JSON-able rest) of an optimizer's state dict."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}state.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    groups = [
        {k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
        for g in state["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_files(tensors: dict[str, torch.Tensor], rest: Any) -> dict[str, Any]:
    """The state dict `optimizer_to_files` split up (`tensors` without the prefix)."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for name, value in rest["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
        for g in rest["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    return _sha256(path)


@dataclass
class Checkpoint:
    """What a finished epoch leaves for the next, besides modules and optimisers."""

    epoch: int  # finished epochs
    best: dict[str, Any]  # {"AP": float | None, "epoch": int | None}
    record: dict[str, Any]  # the epoch's metrics line (without validation until validated)
    scaler: dict[str, Any]
    step_state: dict[str, Any]  # the step's `state_dict()`
    validated: bool = True  # False: trained, validation still due (a resume runs it)


def _state_tensors(step) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every optimiser's tensors and every module but the model's weights, prefixed."""
    tensors: dict[str, torch.Tensor] = {}
    optimizers = {}
    for name, optimizer in step.optimizers().items():
        found, rest = optimizer_to_files(optimizer, f"optimizer.{name}.")
        tensors.update(found)
        optimizers[name] = rest
    for name, module in list(step.modules().items())[1:]:
        tensors.update({f"module.{name}.{k}": v for k, v in module.state_dict().items()})
    return tensors, optimizers


def model_of(step) -> torch.nn.Module:
    return next(iter(step.modules().values()))


def save_checkpoint(run_dir: Path, step, ckpt: Checkpoint, net: str) -> None:
    """Commit epoch `ckpt.epoch` (see the module docstring for the order of writes)."""
    meta = {"format": CHECKPOINT_FORMAT, "net": net, "epoch": ckpt.epoch}
    stem = f"{CHECKPOINTS}/epoch_{ckpt.epoch:04d}"
    weights = tensors_bytes(model_of(step).state_dict(), meta)
    tensors, optimizers = _state_tensors(step)
    write_atomic(run_dir / f"{stem}.safetensors", weights)
    write_atomic(run_dir / f"{stem}.state.safetensors", tensors_bytes(tensors, meta))
    files = {"weights": f"{stem}.safetensors", "state": f"{stem}.state.safetensors"}
    doc = {
        "format": CHECKPOINT_FORMAT,
        "epoch": ckpt.epoch,
        "net": net,
        "kind": step.kind,
        **files,
        "sha256": {k: _sha256(run_dir / v) for k, v in files.items()},
        "optimizers": optimizers,
        "scaler": ckpt.scaler,
        "step_state": ckpt.step_state,
        "validated": ckpt.validated,
        "best": ckpt.best,
        "record": ckpt.record,
    }
    write_atomic(run_dir / LAST, json.dumps(doc, indent=2) + "\n")
    write_atomic(run_dir / LAST_WEIGHTS, weights)
    for old in (run_dir / CHECKPOINTS).glob("epoch_*"):
        if not old.name.startswith(f"epoch_{ckpt.epoch:04d}."):
            old.unlink(missing_ok=True)


def commit_validation(run_dir: Path, ckpt: Checkpoint) -> None:
    """Record the validation of the committed epoch `ckpt.epoch` in last.json (its
    tensor files are unchanged)."""
    doc = _read_json(run_dir / LAST)
    if doc.get("epoch") != ckpt.epoch:
        raise TrainError(f"{run_dir / LAST} does not hold epoch {ckpt.epoch}")
    doc.update(best=ckpt.best, record=ckpt.record, validated=True)
    write_atomic(run_dir / LAST, json.dumps(doc, indent=2) + "\n")


def save_best(run_dir: Path, model, net: str, epoch: int, ap: float) -> None:
    meta = {"format": CHECKPOINT_FORMAT, "net": net, "epoch": epoch, "AP": ap}
    write_atomic(run_dir / BEST_WEIGHTS, tensors_bytes(model.state_dict(), meta))


def load_checkpoint(run_dir: Path, step) -> Checkpoint | None:
    """Restore the step's modules and optimisers from RUN/last.json; None when no epoch
    finished.

    The optimizer tensors are read onto the CPU: `Optimizer.load_state_dict` moves
    moments to their parameters' device and keeps Adam's step counts where a fresh
    optimizer keeps them (on the CPU unless capturable or fused).
    """
    if not (run_dir / LAST).is_file():
        return None
    doc = _read_json(run_dir / LAST)
    if doc.get("format") != CHECKPOINT_FORMAT or "state" not in doc:
        raise TrainError(f"{run_dir / LAST}: not a checkpoint of this archc version")
    if doc.get("kind") != step.kind:
        raise TrainError(
            f"{run_dir} holds a `{doc.get('kind')}` run, not a `{step.kind}` one; resume it "
            "with the command that started it"
        )
    for key in ("weights", "state"):
        path = run_dir / doc[key]
        if not path.is_file() or _sha256(path) != doc["sha256"][key]:
            raise TrainError(
                f"{path} is missing or differs from what {run_dir / LAST} "
                "recorded; the run directory was changed by hand"
            )
    try:
        load_weights(model_of(step), run_dir / doc["weights"])
        _load_state(step, read_weights(run_dir / doc["state"]), doc["optimizers"])
    except WeightsError as err:
        raise TrainError(f"cannot resume: {err}") from None
    step.load_state_dict(doc["step_state"])
    write_atomic(run_dir / LAST_WEIGHTS, (run_dir / doc["weights"]).read_bytes())
    return Checkpoint(
        int(doc["epoch"]),
        doc["best"],
        doc["record"],
        doc["scaler"],
        doc["step_state"],
        bool(doc["validated"]),
    )


def _load_state(step, tensors: dict[str, torch.Tensor], optimizers: dict[str, Any]) -> None:
    for name, optimizer in step.optimizers().items():
        prefix = f"optimizer.{name}."
        own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        optimizer.load_state_dict(optimizer_from_files(own, optimizers[name]))
    for name, module in list(step.modules().items())[1:]:
        prefix = f"module.{name}."
        module.load_state_dict(
            {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        )


def make_run_dir(run_dir: Path, resume: bool) -> list[Path]:
    """Create RUN for a new run (the lock file lives inside); returns the folders made."""
    if resume:
        if not run_dir.is_dir():
            raise TrainError(f"{run_dir}: no such run directory to resume")
        return []
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainError(f"{run_dir} is a file, not a run directory; give another --out")
    created = [p for p in (run_dir, *run_dir.parents) if not p.exists()]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise TrainError(
            f"cannot write the run directory {run_dir}: {err.strerror or err}"
        ) from None
    return created


def lock_run(run_dir: Path, created: list[Path]) -> RunLock:
    lock = RunLock(run_dir)
    try:
        lock.acquire()
    except (RunInUse, OSError) as err:
        remove_created(created)
        if isinstance(err, RunInUse):
            raise TrainError(str(err)) from None
        raise TrainError(f"cannot lock {run_dir}: {err.strerror or err}") from None
    return lock


def unlock_and_remove(lock: RunLock, created: list[Path], new: bool) -> None:
    """A new run that never started leaves nothing behind, its lock file included."""
    lock.release()
    if new:
        lock.path.unlink(missing_ok=True)
        remove_created(created)
