"""BatchNorm recalibration for a derived subnet (or a supernet with a config active).

Running statistics learnt in a supernet mix every subnet that was trained; a
derived subnet needs its own before evaluation (BigNAS, ViPNAS). This resets
every BatchNorm's running mean and variance and recomputes them as the exact
average over the given batches (momentum None), with no gradient and without
touching any weight.

One case is not exact on a supernet: scopes that share weights (`shares weights
with`) but choose different widths. The derived net gives each diverging scope its
own BatchNorm, while the supernet has one, whose statistics mix every scope's
calls. Derive first, then recalibrate, where per-scope statistics matter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from torch import nn


def recalibrate_bn(module: nn.Module, batches: Iterable[torch.Tensor | tuple]) -> int:
    """Recompute BN statistics over `batches` (tensors or tuples of inputs); returns how
    many batches were used. The module's train/eval mode is restored afterwards."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m, m.momentum) for m in norms]
    was_training = module.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: the exact mean over batches
    module.train()
    count = 0
    try:
        with torch.no_grad():
            for batch in batches:
                module(*batch) if isinstance(batch, tuple) else module(batch)
                count += 1
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        module.train(was_training)
    if count == 0:
        raise ValueError("recalibrate_bn needs at least one batch")
    return count


@contextlib.contextmanager
def kept_bn_statistics(module: nn.Module) -> Iterator[None]:
    """Restore every BatchNorm's running statistics (and counters) on exit."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [
        (m, m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
        for m in norms
        if m.track_running_stats
    ]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, mean, var, count in saved:
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
                m.num_batches_tracked.copy_(count)
