"""`GradientOptions`: every option of a training search (darts, sync, gumbel,
reinforce), saved in the run's config.json so that a resume keeps them, and
checked as a whole before anything is loaded."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from archc.runtime.search.cost_loss import FORMS
from archc.runtime.search.strategies import SearchError

STRATEGIES = ("darts", "sync", "gumbel", "reinforce")
DERIVATIONS = ("argmax", "darts", "prune")
METRICS = ("macs", "params", "latency_ms")


@dataclass(frozen=True)
class GradientOptions:
    """Every option of a differentiable search (saved in the run; a resume keeps them)."""

    strategy: str = "darts"
    held_out: float | None = None  # fraction for architecture steps; None: 0.5, sync 0
    warmup: int = 0  # epochs of weight training before the architecture moves
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    cost: str = "macs"
    cost_weight: float = 0.0  # lambda; 0: no cost term
    cost_target: float | None = None  # None: the limit on `cost` (flag or file)
    cost_form: str = "log"
    cost_beta: float = 0.6
    tau_start: float = 10.0  # GDAS: 10 -> 0.1 over the run
    tau_end: float = 0.1
    tau_schedule: str = "exponential"
    hard: bool = False  # straight-through Gumbel: one candidate per step (GDAS)
    aux_skip: bool = False  # DARTS-: an auxiliary skip decaying 1 -> 0
    zero_one: float = 0.0  # Fair-DARTS zero-one loss weight (sigmoid choices)
    derive: str = "argmax"
    threshold: float = 0.05  # prune: candidates below this weight are dropped
    keep_edges: int = 2  # darts: edges kept per cell node
    calibration: int = 256
    export: bool = True
    # reinforce (AutoPose): the controller over the policy choices
    controller_updates: int = 10  # per epoch, from --warmup on
    controller_samples: int = 2  # structures per update (AutoPose: 2)
    controller_lr: float = 3.5e-4
    baseline_decay: float = 0.99
    entropy_weight: float = 1e-4
    reward: str = "AP"  # or loss: minus the heatmap loss on a held-out batch
    derive_samples: int = 20  # structures evaluated to derive the result

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch_betas", tuple(self.arch_betas))
        for problem in self._problems():
            raise SearchError(problem)

    def _problems(self):
        if self.strategy not in STRATEGIES:
            yield f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
        held = self.held_out_fraction
        if not 0 <= held < 1:
            yield f"the held-out fraction is in [0, 1), got {held}"
        if self.strategy == "darts" and held == 0:
            yield "darts is bi-level and needs --held-out in (0, 1); use --strategy sync"
        if self.strategy == "sync" and held > 0:
            yield "sync updates the architecture on the training batch: no --held-out"
        if self.strategy == "reinforce":
            yield from self._reinforce_problems()
        if self.warmup < 0 or self.calibration < 1:
            yield "--warmup must be >= 0 and --calibration >= 1"
        if not (self.arch_lr > 0 and self.arch_weight_decay >= 0):
            yield "--arch-lr must be > 0 and --arch-weight-decay >= 0"
        if self.cost not in METRICS:
            yield f"cost must be one of {', '.join(METRICS)}, got {self.cost!r}"
        if self.cost_form not in FORMS:
            yield f"cost form must be one of {', '.join(FORMS)}, got {self.cost_form!r}"
        if self.cost_weight < 0 or self.zero_one < 0:
            yield "--cost-weight and --zero-one must be >= 0"
        if self.cost_target is not None and not self.cost_target > 0:
            yield f"--cost-target must be > 0, got {self.cost_target}"
        if not (self.tau_start > 0 and self.tau_end > 0):
            yield "Gumbel temperatures must be > 0"
        if self.derive not in DERIVATIONS:
            yield f"derive must be one of {', '.join(DERIVATIONS)}, got {self.derive!r}"
        if not 0 <= self.threshold < 1:
            yield f"the prune threshold is in [0, 1), got {self.threshold}"

    def _reinforce_problems(self):
        for name in ("controller_updates", "controller_samples", "derive_samples", "keep_edges"):
            if getattr(self, name) < 1:
                yield f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}"
        if self.reward not in ("AP", "loss"):
            yield f"the reward is AP or loss, got {self.reward!r}"
        if self.reward == "loss" and self.held_out_fraction == 0:
            yield "--reward loss scores structures on held-out batches: --held-out in (0, 1)"
        if not 0 <= self.baseline_decay < 1:
            yield f"--baseline-decay is in [0, 1), got {self.baseline_decay}"
        if self.cost_weight > 0 and self.cost != "macs":
            yield "the controller's cost term prices MACs: --cost macs"

    @property
    def held_out_fraction(self) -> float:
        if self.held_out is not None:
            return self.held_out
        if self.strategy == "reinforce":
            return 0.5 if self.reward == "loss" else 0.0
        return 0.0 if self.strategy == "sync" else 0.5

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "arch_betas": list(self.arch_betas)}
