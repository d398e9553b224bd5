"""Multi-frame propagation training of a temporal supernet (ViPNAS 3.4.2, Figure 3),
the sandwich rule over frames, as a `TrainStep`.

It is the one-shot `SandwichStep` with three things changed, so it extends it:

- inputs: the key frame's heatmaps come from the frozen key net, computed once
  per batch (every subnet of the step propagates from the same H^0);
- subnets: the largest is every frame's CNN at its largest with *random*
  temporal choices (fusion stage and operation), the smallest likewise, then N
  random subnets where every frame samples its own spatial and temporal
  choices (3.4.2). Which choices are temporal is named (`temporal`, default
  `fuse_at`/`fuse_op`, the names of examples/spaces/vipnas_temporal.arch);
- the loss: one MSE per frame, summed over the T frames (Eq. 1), with the
  largest's maps of each frame as the soft labels of the others.

Validation scores the clip model (key net + propagation) online over the
validation videos, all frames, after recalibrating the supernet's BatchNorms
on training clips.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from archc.runtime.search.drivers.sandwich import SandwichStep
from archc.runtime.temporal.clip_model import ClipModel, Propagation, recalibration_batches
from archc.runtime.temporal.contract import TemporalContract
from archc.runtime.temporal.keynet import KeyNet
from archc.runtime.train.config import TrainError
from archc.runtime.train.step import Batch, StepContext

TEMPORAL_CHOICES = ("fuse_at", "fuse_op")


def temporal_choices(space: Any, names: Sequence[str] | None) -> tuple[str, ...]:
    """The choices of `space` that `names` name, by full name or by their last part
    (`fuse_at` names `frame[2].t_vipnet.fuse_at`). Default names that match nothing
    give none; given ones must each match."""
    given = names is not None
    wanted = tuple(names) if given else TEMPORAL_CHOICES
    full = [c.name for c in space.choices]
    chosen = [n for n in full if n in wanted or n.rsplit(".", 1)[-1] in wanted]
    if given:
        unmatched = [w for w in wanted if not any(n == w or n.endswith("." + w) for n in full)]
        if unmatched:
            local = sorted({n.rsplit(".", 1)[-1] for n in full})
            raise TrainError(
                f"--temporal-choices: {', '.join(unmatched)} names no choice of "
                f"`{space.name}` (its choices end in: {', '.join(local)})"
            )
    return tuple(chosen)


class TemporalSandwichStep(SandwichStep):
    """One multi-frame sandwich step over a temporal supernet."""

    kind = "temporal-sandwich"

    def __init__(
        self,
        supernet: nn.Module,
        space: Any,
        contract: TemporalContract,
        key_net: KeyNet,
        *,
        temporal: Sequence[str] = (),
        **options: Any,
    ):
        super().__init__(supernet, space, **options)
        self.contract, self.key_net, self.temporal = contract, key_net, tuple(temporal)
        self.propagation = Propagation(supernet, contract)

    def subnets(self, ctx: StepContext) -> list[Any]:
        rng = ctx.rng()
        ends = [self._random_temporal(self.largest, rng), self._random_temporal(self.smallest, rng)]
        return [*ends, *(self.space.sample(rng) for _ in range(self.random))]

    def _random_temporal(self, config: Any, rng: random.Random) -> Any:
        if not self.temporal:
            return config
        drawn = self.space.sample(rng)
        return self.space.validate({**dict(config), **{n: drawn[n] for n in self.temporal}})

    def prepare(self, batch: Batch, ctx: StepContext):
        clips, target, weight = super().prepare(batch, ctx)
        with ctx.autocast():
            key_maps = self.key_net(clips[:, 0]).float()
        return (key_maps, clips[:, 1:]), target[:, 1:], weight[:, 1:]

    def forward(self, inputs: Any) -> torch.Tensor:
        return self.propagation(*inputs)

    def loss(self, output, target, weight, teacher) -> torch.Tensor:
        frames = output.shape[1]  # mean over the B*T maps, times T: a sum of per-frame MSEs
        flat = [t if t is None else t.flatten(0, 1) for t in (output, target, weight, teacher)]
        return super().loss(*flat) * frames

    def evaluated(self) -> tuple[nn.Module, nn.Module]:
        return ClipModel(self.key_net, self.propagation), self.propagation

    def recalibration(self, crops: list[torch.Tensor]) -> list[Any]:
        return recalibration_batches(self.key_net, crops)
