"""What one optimisation step is: the `TrainStep` protocol, and plain training as its
first kind.

Why a protocol: plain training, sandwich supernet training, bi-level
(DARTS) search, a REINFORCE controller alternating with weight steps and
multi-frame propagation all need the same loop around them -- epochs, a
per-epoch learning rate, mixed precision, validation, atomic checkpoints and
an exact resume (`loop.fit`). What differs is the step: which modules and
optimisers it owns, what it does with a batch, how it validates, and any
extra state (a baseline, a temperature). A step declares exactly that and
the loop does the rest, so no driver writes a loop, a checkpoint or a resume
of its own.

Randomness: a step that draws (subnets, Gumbel noise, controller samples)
takes its generators from `StepContext.rng`/`torch_rng`, seeded from (run
seed, epoch, batch index, tag). What a batch draws is then a function of
where it is in the run, not of what ran before, so a resumed epoch draws
exactly what an uninterrupted one did, and data-parallel ranks agree without
talking (as Once-for-All seeds its subnets).
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.train.distributed import Ranks

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]


class Validation(Protocol):
    """What the loop offers a step's `validate`: scoring a model on the validation
    split, and training crops for BatchNorm recalibration (loaded once, unaugmented)."""

    def __call__(self, model: nn.Module, results: str | None) -> dict[str, float]:
        """The ten COCO numbers of `model` (results written to `results` if given)."""

    def calibration(self, crops: int) -> list[torch.Tensor]:
        """`crops` training crops (a fixed seeded subset) in batches, on the device."""


_STEP_TAG = 0x57E9


@dataclass
class StepContext:
    """The loop's services to a step: device, mixed precision, seeded generators."""

    device: torch.device
    amp: bool
    scaler: torch.amp.GradScaler
    seed: int
    epoch: int = 0
    batch: int = 0  # index of the batch within the epoch
    held_out: Callable[[], Batch] | None = None  # set by the loop for a step with `held_out`
    validation: Validation | None = None  # the loop's validation, for rewards inside a step
    ranks: Ranks = dataclasses.field(default_factory=Ranks)  # data-parallel processes

    def autocast(self) -> contextlib.AbstractContextManager:
        """float16 autocast on CUDA when AMP is on; a no-op otherwise."""
        return torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp)

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """`optimizer.step()` through the gradient scaler (the loop calls `update`), after
        averaging the gradients over the data-parallel ranks (`distributed.py`)."""
        params = (p for group in optimizer.param_groups for p in group["params"])
        self.ranks.average_gradients(params)
        self.scaler.step(optimizer)

    def held_out_batch(self) -> Batch:
        """The next batch of the held-out split (a step declaring `held_out` > 0)."""
        if self.held_out is None:
            raise RuntimeError("this step has no held-out split (set its `held_out` fraction)")
        return self.held_out()

    def to_device(self, batch: Batch) -> Batch:
        images, target, weight, meta = batch
        return (
            images.to(self.device, non_blocking=True),
            target.to(self.device, non_blocking=True),
            weight.to(self.device, non_blocking=True),
            meta,
        )

    def _entropy(self, tag: int) -> list[int]:
        return [self.seed, self.epoch, self.batch, _STEP_TAG, tag]

    def rng(self, tag: int = 0) -> random.Random:
        """A Python generator for this batch (`tag` separates independent streams)."""
        state = np.random.SeedSequence(self._entropy(tag)).generate_state(2)
        return random.Random(int(state[0]) << 32 | int(state[1]))

    def torch_rng(self, tag: int = 0) -> torch.Generator:
        """A CPU torch generator for this batch."""
        state = np.random.SeedSequence(self._entropy(tag)).generate_state(2)
        return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


@runtime_checkable
class TrainStep(Protocol):
    """One kind of training step inside `fit`.

    - `kind`: a name written into the run (a resume refuses another kind);
    - `modules()`: named modules whose weights are checkpointed; the first is the
      run's model, whose weights become `last.safetensors`/`best.safetensors`;
    - `optimizers()`: named optimisers, checkpointed with their moments;
    - `begin_epoch(epoch, lr)`: set the epoch's learning rate where the step
      wants the schedule (e.g. weights follow it, architecture parameters do not);
    - `step(batch, ctx)`: one batch; returns float metrics (`loss` at least);
    - `validate(validation, results)`: the epoch's validation numbers (`AP` is the one
      the run keeps its best weights by; None where nothing was measured);
    - `state_dict()`/`load_state_dict()`: extra JSON state (baselines, temperatures).

    A step may also declare `held_out`, a fraction of the training images the loop
    keeps out of the training batches and serves through `StepContext.held_out_batch`
    (bi-level search steps its architecture on them).
    """

    kind: str

    def modules(self) -> Mapping[str, nn.Module]: ...

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]: ...

    def begin_epoch(self, epoch: int, lr: float) -> None: ...

    def step(self, batch: Batch, ctx: StepContext) -> dict[str, float]: ...

    def validate(self, validation: Validation, results: str | None) -> dict[str, Any]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class PlainStep:
    """Supervised training of one network: heatmap MSE with target weights, Adam."""

    kind = "plain"

    def __init__(self, model: nn.Module, lr: float = 1e-3, weight_decay: float = 0.0):
        self.model = model
        self.criterion = JointsMSELoss(use_target_weight=True)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": self.optimizer}

    def begin_epoch(self, epoch: int, lr: float) -> None:
        set_lr(self.optimizer, lr)

    def step(self, batch: Batch, ctx: StepContext) -> dict[str, float]:
        images, target, weight, _meta = ctx.to_device(batch)
        with ctx.autocast():
            output = self.model(images)
        loss = self.criterion(output.float(), target, weight)
        self.optimizer.zero_grad(set_to_none=True)
        ctx.backward(loss)
        ctx.optimizer_step(self.optimizer)
        return {"loss": loss.detach()}

    def validate(self, validation: Validation, results: str | None) -> dict[str, Any]:
        return validation(self.model, results)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state:
            raise ValueError(f"a plain step has no state, got {sorted(state)}")


def parameters_of(modules: Mapping[str, nn.Module]) -> Iterator[nn.Parameter]:
    """Every parameter of the modules once (modules may share submodules)."""
    seen: set[int] = set()
    for module in modules.values():
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                yield p
