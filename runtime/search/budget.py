"""Random search at equal budget: train sampled subnets from scratch, one after another,
until a wall-time budget is spent, and keep the best (EfficientPose Table 3, PoseNFS
Table II: the baseline a search driver must beat for the same GPU hours).

It is the one-shot search's loop (`trials.run_trials`, its trial log, replay
and manifest) with another evaluation: a trial is a full `archc train` run of
the config in `subnets/trial_NNNN/` (every service of `fit`: checkpoints,
validation, exact resume), scored by its best validation AP. The budget is
counted in logged trial seconds, so a resumed search stops where an
uninterrupted one would have, trial for trial; a trial killed mid-training
resumes its own run, and the time lost to the kill is not counted.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from archc.runtime.search import manifest, outputs
from archc.runtime.search.limits import feasibility, search_limits
from archc.runtime.search.one_shot import SearchResult, open_folder
from archc.runtime.search.strategies import SearchError, make_strategy
from archc.runtime.search.trial_log import TrialLog
from archc.runtime.search.trials import run_trials

SUBNETS = "subnets"
MAX_TRIALS = 1_000_000  # the budget ends the search long before


def run_budget_search(
    space: Any,
    out: str | os.PathLike,
    train_config: Any,
    *,
    budget_seconds: float,
    sources: Mapping[str, str],
    limits: Mapping[str, float | None] | None = None,
    lut: str | os.PathLike | None = None,
    resume: bool = False,
    on_trial: Callable[[dict[str, Any], bool], None] | None = None,
    progress: Any = None,
    net: Mapping[str, Any] | None = None,
) -> SearchResult:
    """Train random configs of `space` within the limits until `budget_seconds` of
    trials are logged; best.json, front.json, pareto.png and best/ as a one-shot search.
    `net` ({"file", "defines"}) names the space's file in the manifest (`archc report`
    draws the space and the find from it)."""
    from archc.runtime.train.data import check_data

    if not budget_seconds > 0:
        raise SearchError(f"--budget-seconds must be > 0, got {budget_seconds}")
    limits = dict(limits or {})
    bounds = search_limits(
        space, limits.get("max_macs"), limits.get("max_params"), limits.get("max_latency"), lut
    )
    strategy = make_strategy("random", space, feasibility(space, bounds, lut), train_config.seed)
    options = {"strategy": "random-budget", "budget_seconds": budget_seconds, **limits}
    options.update(net or {})
    options["train"] = {
        k: v for k, v in train_config.to_dict().items() if k not in ("data", "workers", "device")
    }
    doc = manifest.make_manifest("random-budget", options, sources, {})
    check_data(train_config.data)  # before the folder: a bad data set leaves nothing
    folder = Path(out)
    lock = open_folder(folder, doc, resume)
    try:
        if not resume:
            manifest.write(folder, doc)
        log = TrialLog(folder)
        evaluate = _trainer(space, folder, log, train_config, progress)
        records = run_trials(
            strategy,
            log,
            MAX_TRIALS,
            evaluate,
            lambda configs: _costs(space, configs),
            batch=1,
            on_trial=on_trial,
            stop=lambda done: sum(r["seconds"] for r in done) >= budget_seconds,
        )
        best = outputs.write_summaries(folder, records, space.name, "macs", limits.get("max_macs"))
        written = _write_best(folder, space, best) if best is not None else {}
        return SearchResult(folder, records, best, written)
    finally:
        lock.release()


def _costs(space: Any, configs: Sequence[Any]) -> dict[str, Any]:
    batch = space.cost_many(configs)
    return {"params": batch.params, "macs": batch.macs, "latency_ms": None}


def _trainer(space: Any, folder: Path, log: TrialLog, train_config: Any, progress: Any):
    """configs -> measurements: each config trained in its own run folder, named by
    its trial index (the log's length when it starts: one config per batch)."""

    def evaluate(configs):
        for config in configs:
            run_dir = folder / SUBNETS / f"trial_{len(log):04d}"
            yield _train_one(space, run_dir, config, train_config, progress)

    return evaluate


def _train_one(space, run_dir: Path, config, train_config, progress) -> dict[str, Any]:
    import torch

    from archc.runtime.train import fit, geometry_of
    from archc.runtime.train.checkpoint import CONFIG_FILE
    from archc.torch import build_module

    run_dir.parent.mkdir(exist_ok=True)
    resume = (run_dir / CONFIG_FILE).is_file()
    if not resume and run_dir.exists():  # killed before its run started: start afresh
        shutil.rmtree(run_dir)
    fixed = space.derive(config)
    torch.manual_seed(train_config.seed)
    net = {"choices": config.to_dict()}
    kwargs = {"progress": progress} if progress is not None else {}
    fit(
        build_module(fixed),
        geometry_of(fixed),
        train_config,
        run_dir,
        net_info=net,
        resume=resume,
        **kwargs,
    )
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    scored = [r for r in lines if r.get("AP") is not None]
    top = max(scored, key=lambda r: r["AP"]) if scored else {}
    return {
        "score": top.get("AP"),
        "AP": top.get("AP"),
        "AP50": top.get("AP50"),
        "loss": lines[-1]["loss"] if lines else None,
    }


def _write_best(folder: Path, space: Any, best: dict[str, Any]) -> dict[str, Any]:
    """best/: the config and the best weights of the best trial's run, and its ONNX."""
    from archc.compiler.backends.onnx.export import ExportError, export_module
    from archc.runtime.weights import load_weights
    from archc.torch import build_module

    target = folder / outputs.BEST_DIR
    target.mkdir(exist_ok=True)
    config = space.validate(best["config"])
    config.save(target / outputs.CONFIG)
    trial = folder / SUBNETS / f"trial_{best['index']:04d}" / "best.safetensors"
    shutil.copyfile(trial, target / outputs.WEIGHTS)
    report = {"config": str(target / outputs.CONFIG), "weights": str(target / outputs.WEIGHTS)}
    module = build_module(space.derive(config))
    load_weights(module, target / outputs.WEIGHTS)
    try:
        report["onnx"] = str(
            export_module(space.derive(config), module, target / outputs.ONNX).path
        )
    except ExportError as err:
        report["onnx_error"] = str(err)
    return report
