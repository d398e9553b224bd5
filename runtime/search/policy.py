"""After a REINFORCE search (`drivers/reinforce.py`): derive the structure, and show how
the controller learnt.

Derivation (AutoPose 3.3): the trained controller's most likely structure and
`samples` more drawn from it (seeded), cells at their argmax, each within the
limits, are evaluated on the validation split with the shared weights after
BatchNorm recalibration, through the one trial loop (`trials.run_trials`:
trials.jsonl, replay on resume, repeats answered from the log); the best
becomes best/ with front.json, best.json and pareto.png as in a one-shot
search. `controller.jsonl` and `controller.png` hold the controller's history
(reward, baseline and entropy per update).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from archc.kernel.files import write_atomic
from archc.runtime.search import outputs
from archc.runtime.search.strategies.base import Strategy, Trial
from archc.runtime.search.trial_log import TrialLog
from archc.runtime.search.trials import run_trials

HISTORY, PICTURE = "controller.jsonl", "controller.png"
_DERIVE_TAG = 0xD3


class ControllerSamples(Strategy):
    """Proposes the greedy structure, then samples of the trained controller."""

    name = "controller"

    def __init__(self, space: Any, feasibility: Any, seed: int, step: Any):
        super().__init__(space, feasibility, seed)
        self.step = step
        self.generator = torch.Generator().manual_seed(seed * 0x10001 + _DERIVE_TAG)
        self.first = True

    def ask(self, n: int) -> list:
        return [self.fresh(self._draw) for _ in range(n)]

    def _draw(self):
        with torch.no_grad():
            structure, _, _ = self.step.controller.sample(self.generator, greedy=self.first)
        self.first = False
        net = self.step.inner.supernet
        config = self.space.validate(net.argmax_config(self.step.config_of(structure)))
        return config if self.feasibility.feasible(config) else None

    def tell(self, trials: Sequence[Trial]) -> None:
        """The controller is trained already; its samples do not depend on results."""


def derive(folder: Path, space: Any, step: Any, feasibility: Any, evaluate, seed: int, n: int):
    """Evaluate `n` controller proposals into trials.jsonl; returns the records."""
    strategy = ControllerSamples(space, feasibility, seed, step)

    def costs(configs):
        batch = space.cost_many(configs)
        return {"params": batch.params, "macs": batch.macs, "latency_ms": None}

    return run_trials(strategy, TrialLog(folder), n, evaluate, costs, batch=1)


def write_history(folder: Path, history: Sequence[dict[str, Any]], title: str) -> None:
    """controller.jsonl and controller.png (reward and baseline, entropy, per update)."""
    write_atomic(folder / HISTORY, "".join(json.dumps(h) + "\n" for h in history))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    x = list(range(1, len(history) + 1))
    left.plot(x, [h["reward"] for h in history], label="reward (mean of the update)")
    left.plot(x, [h["baseline"] for h in history], label="baseline")
    left.set_xlabel("controller update")
    left.legend(fontsize=7)
    right.plot(x, [h["entropy"] for h in history], color="tab:green")
    right.set_xlabel("controller update")
    right.set_ylabel("entropy of a sample")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    write_atomic(folder / PICTURE, buffer.getvalue())


def evaluator(space: Any, supernet: Any, train_config: Any, geometry: Any, calibration: int):
    """The shared-weight evaluator of the derivation, and its calibration batches."""
    from archc.runtime.search.evaluate import SharedWeightEvaluator, cache_split
    from archc.runtime.train.data import find_split, load_split, run_calibration
    from archc.runtime.train.device import select_device

    device = select_device(train_config.device)
    val = load_split(
        find_split(train_config.data, "val"),
        geometry,
        train_config,
        train=False,
        limit=train_config.limit_val,
    )
    batches = run_calibration(train_config, geometry, calibration, device)
    cached = cache_split(val, train_config.batch, device)
    supernet.to(device)
    return SharedWeightEvaluator(supernet, batches, cached, train_config.flip_test), batches


def summarise(folder: Path, space: Any, records, supernet, batches, budget, export: bool):
    """front.json, best.json, pareto.png and best/ from the derivation's trials."""
    best = outputs.write_summaries(folder, records, space.name, "macs", budget)
    written = {}
    if best is not None and export:
        written = outputs.write_best(folder, space, supernet, best["config"], batches)
    return best, written


def reinforce_step(inner: Any, space: Any, options: Any, target: float | None) -> Any:
    """The REINFORCE step around `inner` (weights and cells), from the search options."""
    from archc.runtime.search.controller import Controller, Reinforce
    from archc.runtime.search.drivers.reinforce import ReinforceStep

    net = inner.supernet
    policy = [c.name for c in space.table if net.realisation[c.name] == "policy"]
    controller = Controller(space.table, policy)
    learner = Reinforce(
        controller,
        lr=options.controller_lr,
        baseline_decay=options.baseline_decay,
        entropy_weight=options.entropy_weight,
    )
    return ReinforceStep(
        inner,
        controller,
        learner,
        space,
        warmup=options.warmup,
        updates=options.controller_updates,
        samples=options.controller_samples,
        reward=options.reward,
        held_out=options.held_out_fraction,
        calibration=options.calibration,
        cost=(options.cost_weight, target) if target is not None else None,
    )


def finish(folder, space, step, train_config, geometry, options, limits, lut, records):
    """Derivation, summaries, best/ and the controller's history; the search's result."""
    from archc.runtime.search.gradient import GradientResult
    from archc.runtime.search.limits import feasibility

    write_history(folder, step.history, f"{space.name}: controller")
    evaluate, batches = evaluator(
        space, step.inner.supernet, train_config, geometry, options.calibration
    )
    trials = derive(
        folder,
        space,
        step,
        feasibility(space, limits, lut),
        evaluate,
        train_config.seed,
        options.derive_samples,
    )
    budget = next((x.bound for x in limits if x.metric == "macs" and x.scope is None), None)
    best, written = summarise(
        folder, space, trials, step.inner.supernet, batches, budget, options.export
    )
    summary = {"derivation": "controller", "trials": len(trials)}
    if best is not None:
        summary.update(config=best["config"], macs=best["macs"], params=best["params"])
        summary["AP"] = best["AP"]
    config = space.validate(best["config"]) if best is not None else None
    return GradientResult(folder, records, config, summary, written)
