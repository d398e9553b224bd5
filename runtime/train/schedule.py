"""Learning-rate schedules as pure functions of the epoch.

Why not `torch.optim.lr_scheduler`: its state is a counter that must be saved
and restored in step with the optimizer, and its value after a resume depends
on how often `step()` was called. Here the rate of epoch `e` (0-based) is a
function of the config and `e` alone, set on every parameter group at the
start of the epoch, so a resumed run cannot drift from an uninterrupted one.
The rate is constant within an epoch (per-epoch schedule, as SimpleBaseline
and HRNet do).

- step: `lr * lr_factor ** (number of milestones <= e)`; milestones default to
  epochs 90 and 120 of 140 (SimpleBaseline / HRNet), scaled to the run length;
- cosine: `min_lr + (lr - min_lr) * (1 + cos(pi * e / epochs)) / 2`, so epoch 0
  trains at `lr` and the last epoch just above `min_lr`.
"""

from __future__ import annotations

import math

from archc.runtime.train.config import TrainConfig

# SimpleBaseline / HRNet: 140 epochs, rate x0.1 at epochs 90 and 120.
RECIPE_EPOCHS = 140
RECIPE_STEPS = (90, 120)


def milestones(config: TrainConfig) -> tuple[int, ...]:
    """Epochs (0-based) at which the step schedule drops the rate."""
    if config.lr_steps is not None:
        return tuple(sorted(config.lr_steps))
    scaled = (round(config.epochs * s / RECIPE_EPOCHS) for s in RECIPE_STEPS)
    return tuple(sorted({s for s in scaled if 0 < s < config.epochs}))


def lr_at(config: TrainConfig, epoch: int) -> float:
    """The learning rate of epoch `epoch` (0-based)."""
    if config.schedule == "cosine":
        t = min(max(epoch, 0), config.epochs) / config.epochs
        return config.min_lr + (config.lr - config.min_lr) * (1 + math.cos(math.pi * t)) / 2
    drops = sum(1 for m in milestones(config) if epoch >= m)
    return config.lr * config.lr_factor**drops


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def drop_path_scale_at(config: TrainConfig, epoch: int) -> float:
    """The factor on every drop-path rate in epoch `epoch` (0-based): DARTS's linear
    ramp `epoch / epochs`, or 1 for a constant rate."""
    if config.drop_path_schedule == "linear":
        return epoch / config.epochs
    return 1.0
