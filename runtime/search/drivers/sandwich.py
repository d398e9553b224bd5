"""Supernet training with the sandwich rule and in-place distillation (BigNAS, ViPNAS
3.4.1-3.4.2), as a `TrainStep` inside the one training loop.

Per batch: the largest subnet (the most MACs), the smallest (the fewest) and
`random` subnets drawn uniformly from the space. The largest learns from the
ground truth; every other subnet learns from the ground truth and from the
largest's detached heatmaps with equal weights (ViPNAS: "supervised by both
the soft labels and the ground truth heatmaps with equal loss weights"); the
soft-label term is an MSE over all joints, since the teacher's maps of an
unlabelled joint still say where it is. The subnets' gradients are summed
into one optimiser step, so weights shared by several subnets get the sum of
their gradients and weights no subnet used get none.

The random subnets of a batch are drawn from a generator seeded from (run
seed, epoch, batch) (`StepContext.rng`), so a resumed epoch and every
data-parallel rank draw the same subnets. Validation scores the largest and
the smallest after BatchNorm recalibration on `calibration` training crops,
without changing the supernet's own statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.recalibrate import kept_bn_statistics, recalibrate_bn
from archc.runtime.train.step import Batch, StepContext, Validation, set_lr


class SandwichStep:
    """One sandwich step over a supernet built from `space` (`archc.torch.build_supernet`)."""

    kind = "sandwich"

    def __init__(
        self,
        supernet: nn.Module,
        space: Any,
        *,
        random: int = 2,
        distill: bool = True,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        calibration: int = 256,
    ):
        if random < 0:
            raise ValueError(f"the number of random subnets is >= 0, got {random}")
        self.supernet, self.space = supernet, space
        self.random, self.distill, self.calibration = random, distill, calibration
        self.largest, self.smallest = space.largest(), space.smallest()
        self.criterion = JointsMSELoss(use_target_weight=True)
        self.optimizer = torch.optim.Adam(supernet.parameters(), lr=lr, weight_decay=weight_decay)

    def modules(self) -> dict[str, nn.Module]:
        return {"supernet": self.supernet}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"supernet": self.optimizer}

    def begin_epoch(self, epoch: int, lr: float) -> None:
        set_lr(self.optimizer, lr)

    def subnets(self, ctx: StepContext) -> list[Any]:
        """The configs of this batch: largest, smallest, then the random ones."""
        rng = ctx.rng()
        return [self.largest, self.smallest, *(self.space.sample(rng) for _ in range(self.random))]

    def prepare(self, batch: Batch, ctx: StepContext) -> tuple[Any, torch.Tensor, torch.Tensor]:
        """(inputs, target, weight) of a batch on the device: what every subnet of the
        step sees and is scored against (a temporal step computes its key maps here)."""
        images, target, weight, _ = ctx.to_device(batch)
        return images, target, weight

    def forward(self, inputs: Any) -> torch.Tensor:
        """The active subnet's heatmaps for `inputs` (from `prepare`)."""
        return self.supernet(inputs)

    def loss(self, output, target, weight, teacher) -> torch.Tensor:
        """Ground-truth MSE, plus the MSE to the largest's maps when distilling."""
        loss = self.criterion(output, target, weight)
        if teacher is not None and self.distill:
            loss = loss + self.criterion(output, teacher)
        return loss

    def step(self, batch: Batch, ctx: StepContext) -> dict[str, Any]:
        inputs, target, weight = self.prepare(batch, ctx)
        self.optimizer.zero_grad(set_to_none=True)
        teacher, losses = None, []
        for config in self.subnets(ctx):
            self.supernet.set_active(config)
            with ctx.autocast():
                output = self.forward(inputs)
            output = output.float()
            loss = self.loss(output, target, weight, teacher)
            ctx.backward(loss)
            losses.append(loss.detach())
            if teacher is None:
                teacher = output.detach()
        ctx.optimizer_step(self.optimizer)
        out = {"loss": losses[0], "loss_smallest": losses[1]}
        if len(losses) > 2:
            out["loss_random"] = torch.stack(losses[2:]).mean()
        return out

    def evaluated(self) -> tuple[nn.Module, nn.Module]:
        """(what validation scores, what BN recalibration runs): the supernet twice."""
        return self.supernet, self.supernet

    def recalibration(self, crops: list[torch.Tensor]) -> list[Any]:
        """The batches BN recalibration runs through `evaluated()[1]`."""
        return crops

    def validate(self, validation: Validation, results: str | None) -> dict[str, Any]:
        batches = self.recalibration(validation.calibration(self.calibration))
        scored, recalibrated = self.evaluated()
        scores = {}
        for name, config in (("largest", self.largest), ("smallest", self.smallest)):
            self.supernet.set_active(config)
            with kept_bn_statistics(self.supernet):
                recalibrate_bn(recalibrated, batches)
                scores[name] = validation(scored, results if name == "largest" else None)
        small = scores["smallest"]
        return {**scores["largest"], "AP_smallest": small["AP"], "AP50_smallest": small["AP50"]}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state:
            raise ValueError(f"a sandwich step has no state, got {sorted(state)}")
