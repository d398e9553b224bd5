"""Data-parallel training with torch.distributed, launched by `torchrun`: what each rank
does differently from a single process, in one place.

Why not `DistributedDataParallel`: a sandwich step runs several subnets, each with
its own backward, and a subnet leaves most of the supernet unused; DDP would
all-reduce after every backward and need `find_unused_parameters`. Here every
rank runs the same subnets (their draw is seeded from the step, `StepContext.rng`)
on its share of the global batch, and the summed gradients are averaged in one
flattened all-reduce just before the optimiser step (`average_gradients`): one
collective per step, whatever the step does. Each rank's loss is the mean over
its share, so the average equals the single-process gradient of the global batch
(BatchNorm aside: each rank normalises with its own share's statistics, as DDP
without SyncBatchNorm does; validation recalibrates them anyway).

Rank 0 owns the run folder: it locks it, writes the config, the checkpoints, the
metrics and the best weights, and validates; the other ranks read the checkpoint
on a resume and wait at a barrier while rank 0 writes, so all ranks start every
epoch from the same committed state. A single process (no `torchrun`) is rank 0
of 1 and none of this runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from archc.runtime.train.config import TrainError


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device_type: str) -> Ranks:
        """The ranks `torchrun` set (RANK, WORLD_SIZE, LOCAL_RANK), the process group
        started on first use (gloo on CPU, NCCL on CUDA); one process without them."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
        return cls(rank, world, local)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def average_gradients(self, params) -> None:
        """Every rank's gradients replaced by their mean over the ranks, in one
        all-reduce of a flattened buffer (parameters without a gradient are skipped:
        every rank ran the same subnets, so they are the same on every rank)."""
        if self.world == 1:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def total(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """`values` summed over the ranks (per-epoch metric totals and counts)."""
        if self.world == 1 or not values:
            return values
        keys = sorted(values)
        flat = torch.stack([values[k].double().reshape(()) for k in keys])
        dist.all_reduce(flat)
        return dict(zip(keys, flat, strict=True))

    def share(self, batch: list[int]) -> list[int]:
        """This rank's part of a global batch of dataset indices."""
        return batch[self.rank :: self.world]

    def check_batch(self, batch: int) -> None:
        if batch % self.world:
            raise TrainError(
                f"--batch {batch} is the global batch: it must divide among the "
                f"{self.world} processes (a multiple of {self.world})"
            )
