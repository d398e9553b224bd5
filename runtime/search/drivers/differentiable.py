"""Gradient-based architecture search as a `TrainStep` inside the one training loop:
DARTS (first order, bi-level), PoseNFS's synchronous updates, GDAS/AutoPose
Gumbel-softmax, with EfficientPose's warm-up and cost term.

Per batch, after `warmup` epochs of weight training only:
- bi-level (darts, and gumbel unless `held_out` is 0): a weight step on the
  training batch, then an architecture step on a batch of the held-out split
  the loop keeps apart (`StepContext.held_out_batch`);
- joint (sync, PoseNFS IV-B): one loss, one backward, both optimisers step.
In a weight step the architecture parameters do not require gradients and in
an architecture step the weights do not, so neither receives (or pays for) the
other's gradient. The cost term (`cost_loss.CostTerm`) enters architecture
steps only: it does not depend on the weights.

Choices that are not mixed (sampled, elastic, policy) keep `base`, the file's
defaults unless the caller says otherwise. The Gumbel temperature and the
DARTS- auxiliary skip follow the epoch (pure functions of it), so a resumed
run continues on the same curves; the noise itself comes from torch's global
generator, which the loop reseeds per epoch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.search.cost_loss import CostTerm
from archc.runtime.temperature import GumbelTemperature
from archc.runtime.train.step import Batch, StepContext, Validation, set_lr

MODES = ("darts", "sync", "gumbel")


@dataclass(frozen=True)
class ArchOptimiser:
    """Adam for the architecture parameters (DARTS' defaults)."""

    lr: float = 3e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-3


class DifferentiableStep:
    """One step of gradient-based search over the mixed choices of `supernet`."""

    kind = "differentiable"

    def __init__(
        self,
        supernet: nn.Module,
        base: Mapping[str, Any],
        *,
        mode: str,
        epochs: int,
        held_out: float = 0.0,
        warmup: int = 0,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        arch: ArchOptimiser = ArchOptimiser(),
        cost: CostTerm | None = None,
        expected_cost=None,
        temperature: GumbelTemperature | None = None,
        aux_skip: bool = False,
        zero_one: float = 0.0,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown strategy {mode!r}; expected one of {', '.join(MODES)}")
        self.supernet, self.mode, self.epochs = supernet, mode, epochs
        self.held_out, self.warmup = held_out, warmup
        self.cost, self.expected_cost = cost, expected_cost
        self.temperature, self.aux_skip, self.zero_one = temperature, aux_skip, zero_one
        supernet.set_active(base)
        self.base = supernet.active
        if temperature is not None:  # the start of the schedule, before epoch 0 begins
            temperature.apply(supernet, 0)
        self.criterion = JointsMSELoss(use_target_weight=True)
        self.weights = list(supernet.weight_parameters())
        self.alphas = list(supernet.arch_parameters())
        # a space of weight-free candidates only (pools, skips) has nothing to step
        self.weight_optimizer = (
            torch.optim.Adam(self.weights, lr=lr, weight_decay=weight_decay)
            if self.weights
            else None
        )
        self.arch_optimizer = (  # None where no choice is mixed (policy-only spaces)
            torch.optim.Adam(
                self.alphas, lr=arch.lr, betas=arch.betas, weight_decay=arch.weight_decay
            )
            if self.alphas
            else None
        )
        self.searching = False

    # ---- the TrainStep protocol
    def modules(self) -> dict[str, nn.Module]:
        return {"supernet": self.supernet}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        named = {"weights": self.weight_optimizer, "arch": self.arch_optimizer}
        return {k: v for k, v in named.items() if v is not None}

    def begin_epoch(self, epoch: int, lr: float) -> None:
        """Weights follow the schedule; the architecture's rate stays fixed (DARTS)."""
        if self.weight_optimizer is not None:
            set_lr(self.weight_optimizer, lr)
        self.searching = epoch >= self.warmup
        if self.temperature is not None:
            self.temperature.apply(self.supernet, epoch)
        if self.aux_skip:  # DARTS-: 1 -> 0 linearly over the search epochs
            span = max(self.epochs - self.warmup, 1)
            self.supernet.aux_skip = max(0.0, 1.0 - max(epoch - self.warmup, 0) / span)

    def step(self, batch: Batch, ctx: StepContext) -> dict[str, Any]:
        self.supernet.set_active(self.base)
        if not self.searching or self.arch_optimizer is None:
            return {"loss": self._weight_step(batch, ctx)}
        if self.held_out:
            loss = self._weight_step(batch, ctx)
            return {"loss": loss, **self._arch_step(ctx.held_out_batch(), ctx)}
        return self._joint_step(batch, ctx)

    def validate(self, validation: Validation, results: str | None) -> dict[str, Any]:
        """AP of the relaxed supernet (the softmax mixture, no noise) and the costs."""
        self.supernet.set_active(self.base)
        stats = dict(validation(self.supernet, results))
        if self.expected_cost is not None:
            with torch.no_grad():
                stats["expected_cost"] = float(self.expected_cost(self.supernet))
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state:
            raise ValueError(f"a differentiable step has no state, got {sorted(state)}")

    # ---- the updates
    def _forward_loss(self, batch: Batch, ctx: StepContext) -> torch.Tensor:
        images, target, weight, _ = ctx.to_device(batch)
        with ctx.autocast():
            output = self.supernet(images)
        return self.criterion(output.float(), target, weight)

    def _weight_step(self, batch: Batch, ctx: StepContext) -> torch.Tensor:
        if self.weight_optimizer is None:
            with torch.no_grad():
                return self._forward_loss(batch, ctx)
        with only_grad(self.weights, self.alphas):
            loss = self._forward_loss(batch, ctx)
            self.weight_optimizer.zero_grad(set_to_none=True)
            if loss.requires_grad:
                ctx.backward(loss)
                ctx.optimizer_step(self.weight_optimizer)
        return loss.detach()

    def _arch_step(self, batch: Batch, ctx: StepContext) -> dict[str, Any]:
        with only_grad(self.alphas, self.weights):
            task = self._forward_loss(batch, ctx)
            loss, extra = self._with_cost(task)
            self.arch_optimizer.zero_grad(set_to_none=True)
            if loss.requires_grad:  # else no mixed choice is active under `base`
                ctx.backward(loss)
                ctx.optimizer_step(self.arch_optimizer)
        return {"arch_loss": task.detach(), **extra}

    def _joint_step(self, batch: Batch, ctx: StepContext) -> dict[str, Any]:
        task = self._forward_loss(batch, ctx)
        loss, extra = self._with_cost(task)
        optimizers = list(self.optimizers().values())
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        if loss.requires_grad:  # a structure may switch off every op with parameters
            ctx.backward(loss)
            for optimizer in optimizers:
                ctx.optimizer_step(optimizer)
        return {"loss": task.detach(), **extra}

    def _with_cost(self, task: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        """The architecture's loss: task, cost term, Fair-DARTS zero-one term."""
        loss, extra = task, {}
        if self.cost is not None and self.cost.weight > 0:
            expected = self.expected_cost(self.supernet)
            loss = self.cost(task, expected)
            extra["expected_cost"] = expected.detach()
        if self.zero_one > 0:
            probs = torch.cat([p.flatten() for p in self.supernet.mixing_probabilities().values()])
            zero_one = -((probs - 0.5) ** 2).mean()
            loss = loss + self.zero_one * zero_one
            extra["zero_one"] = zero_one.detach()
        return loss, extra


@contextlib.contextmanager
def only_grad(train: Iterable[nn.Parameter], frozen: Iterable[nn.Parameter]) -> Iterator[None]:
    """`frozen` parameters neither require nor receive gradients inside the block."""
    frozen = [p for p in frozen if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
        p.grad = None
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(True)
