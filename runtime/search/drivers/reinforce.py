"""AutoPose's bi-level search (Algorithm 1) as a `TrainStep` in the one training loop:
an RNN controller samples the `policy` choices (which branches run) and learns by
REINFORCE; weights and the Gumbel/weighted cells learn by gradients under the
sampled structure.

Per batch: the controller samples a structure (from a generator seeded by the
batch's place in the run, so a resumed epoch samples alike) and the weights and
cell alphas take one joint step under it (`DifferentiableStep`, sync or Gumbel).
At the first batch of every epoch from `warmup` on ("at the end of each epoch
the controller is updated N times", AutoPose 4.2; it starts at the 5th), the
controller makes `updates` REINFORCE updates of `samples` structures each, the
reward of a structure being its validation AP with the shared weights after
BatchNorm recalibration (or minus its heatmap loss on a held-out batch), times
(target / MACs)^w with a cost weight w (MnasNet; a loss reward is divided by it).
The update sits inside the epoch's training, so the epoch's checkpoint holds
it: resume stays exact.
The controller's history (reward, baseline, entropy per update) is step state,
checkpointed with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.recalibrate import kept_bn_statistics, recalibrate_bn
from archc.runtime.search.controller import Controller, Reinforce
from archc.runtime.search.drivers.differentiable import DifferentiableStep
from archc.runtime.train.step import Batch, StepContext, Validation

REWARDS = ("AP", "loss")
_SAMPLE_TAG, _UPDATE_TAG = 0xC7, 0xC8


class ReinforceStep:
    """Controller over the policy choices + `inner` (weights and cells) per batch."""

    kind = "reinforce"

    def __init__(
        self,
        inner: DifferentiableStep,
        controller: Controller,
        learner: Reinforce,
        space: Any,
        *,
        warmup: int = 0,
        updates: int = 10,
        samples: int = 2,
        reward: str = "AP",
        held_out: float = 0.0,
        calibration: int = 64,
        cost: tuple[float, float] | None = None,  # (weight w, target MACs)
    ):
        if reward not in REWARDS:
            raise ValueError(f"the reward is one of {', '.join(REWARDS)}, got {reward!r}")
        if updates < 1 or samples < 1:
            raise ValueError("controller updates and samples per update must be >= 1")
        self.inner, self.controller, self.learner, self.space = inner, controller, learner, space
        self.base = inner.base  # the non-policy choices; a structure sets the rest
        self.warmup, self.updates, self.samples = warmup, updates, samples
        self.reward, self.calibration, self.cost = reward, calibration, cost
        if reward == "loss" and not held_out:
            raise ValueError("a loss reward scores structures on held-out batches: held_out > 0")
        self.held_out = held_out  # the loop serves these batches (`StepContext.held_out`)
        self.history: list[dict[str, Any]] = []
        self.epoch = 0
        self.criterion = JointsMSELoss(use_target_weight=True)

    # ---- the TrainStep protocol
    def modules(self) -> dict[str, nn.Module]:
        return {**self.inner.modules(), "controller": self.controller}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {**self.inner.optimizers(), "controller": self.learner.optimizer}

    def begin_epoch(self, epoch: int, lr: float) -> None:
        self.epoch = epoch
        self.inner.begin_epoch(epoch, lr)

    def step(self, batch: Batch, ctx: StepContext) -> dict[str, Any]:
        if ctx.batch == 0 and self.epoch >= self.warmup:
            self._train_controller(ctx)
        with torch.no_grad():
            structure, _, _ = self.controller.sample(ctx.torch_rng(_SAMPLE_TAG))
        self.inner.base = self.config_of(structure)
        return self.inner.step(batch, ctx)

    def validate(self, validation: Validation, results: str | None) -> dict[str, Any]:
        """The relaxed supernet under the controller's most likely structure, and the
        controller's last numbers (nothing here changes any state)."""
        with torch.no_grad():
            structure, _, _ = self.controller.sample(greedy=True)
        self.inner.base = self.config_of(structure)
        stats = self.inner.validate(validation, results)
        last = self.history[-1] if self.history else {}
        keys = ("reward", "baseline", "entropy")
        return {**stats, **{f"controller_{k}": last.get(k) for k in keys}}

    def state_dict(self) -> dict[str, Any]:
        return {"baseline": self.learner.baseline, "history": self.history}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.learner.baseline = state.get("baseline")
        self.history = list(state.get("history", []))

    # ---- the controller
    def config_of(self, structure: Mapping[str, Any]) -> Any:
        return self.space.validate({**self.base, **structure})

    def _train_controller(self, ctx: StepContext) -> None:
        generator = ctx.torch_rng(_UPDATE_TAG)
        for update in range(self.updates):
            samples = []
            for _ in range(self.samples):
                structure, log_prob, entropy = self.controller.sample(generator)
                samples.append((log_prob, entropy, self._reward(structure, ctx)))
            numbers = self.learner.update(samples)
            self.history.append({"epoch": self.epoch + 1, "update": update + 1, **numbers})

    def _reward(self, structure: Mapping[str, Any], ctx: StepContext) -> float:
        """Shared-weight score of the structure (cells at their argmax), with the cost."""
        net = self.inner.supernet
        config = self.space.validate(net.argmax_config(self.config_of(structure)))
        net.set_active(config)
        was_training = net.training
        with kept_bn_statistics(net):
            recalibrate_bn(net, ctx.validation.calibration(self.calibration))
            net.eval()
            if self.reward == "AP":
                value = float(ctx.validation(net, None)["AP"])
            else:
                images, target, weight, _ = ctx.to_device(ctx.held_out_batch())
                with torch.no_grad():
                    value = -float(self.criterion(net(images).float(), target, weight))
        net.train(was_training)
        if self.cost is not None:  # cheaper is better: AP grows, a (negative) loss shrinks
            weight, target = self.cost
            ratio = (target / self.space.cost(config).macs) ** weight
            value = value * ratio if self.reward == "AP" else value / ratio
        return value
