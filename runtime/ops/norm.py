"""Normalisation (bn, layernorm): elastic modules and records. BatchNorm slices the first
C channels (weights and running statistics), LayerNorm the leading [C, H, W] block of its
parameters; the plain modules are torch's own."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archc.runtime.ops.record import OpRecord, call_x, register


class ElasticBatchNorm2d(nn.BatchNorm2d):
    """`nn.BatchNorm2d` at its widest; a narrower input uses (and updates) the first C.

    Why a subclass: its state-dict names (weight, bias, running_mean, running_var,
    num_batches_tracked) are a plain BatchNorm's, so checkpoints read the same; `export`
    copies the first C of each (and the batch count) into the subnet's `nn.BatchNorm2d`.
    `momentum=None` (what `recalibrate_bn` sets) means a cumulative average over the
    batches seen since the last reset, exactly as in `nn.BatchNorm2d`: the subnet's own
    statistics, which shared-weight evaluation needs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        factor = self.momentum if self.momentum is not None else 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average, as `nn.BatchNorm2d` does
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean[:c] if self.running_mean is not None else None,
            self.running_var[:c] if self.running_var is not None else None,
            self.weight[:c] if self.affine else None,
            self.bias[:c] if self.affine else None,
            use_batch,
            factor,
            self.eps,
        )

    def export(self, module: nn.BatchNorm2d) -> None:
        c = module.num_features
        with torch.no_grad():
            if self.affine:
                module.weight.copy_(self.weight[:c])
                module.bias.copy_(self.bias[:c])
            module.running_mean.copy_(self.running_mean[:c])
            module.running_var.copy_(self.running_var[:c])
            module.num_batches_tracked.copy_(self.num_batches_tracked)


class ElasticLayerNorm(nn.Module):
    """LayerNorm over the whole [C, H, W] of its input, with parameters at the largest
    [C, H, W]: an input of a smaller config uses the leading [:C, :H, :W] block.

    Why: the width and the resolution of a layernorm'd map may both be choices; `export`
    copies that block into the subnet's `nn.LayerNorm([C, H, W])`."""

    def __init__(self, max_shape: tuple[int, int, int], eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(max_shape))
        self.bias = nn.Parameter(torch.zeros(max_shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, h, w = x.shape[1:]
        return F.layer_norm(x, (c, h, w), self.weight[:c, :h, :w], self.bias[:c, :h, :w], self.eps)

    def export(self, module: nn.LayerNorm) -> None:
        c, h, w = module.normalized_shape
        with torch.no_grad():
            module.weight.copy_(self.weight[:c, :h, :w])
            module.bias.copy_(self.bias[:c, :h, :w])


register(
    OpRecord(
        "bn",
        lambda a, s: nn.BatchNorm2d(s[0][0], affine=a["affine"]),
        elastic=lambda s: ElasticBatchNorm2d(s["channels"], affine=s["affine"]),
        max_sizes=lambda m: {"channels": m.out_max[0], "affine": bool(m.top("affine", True))},
        call=call_x,
    ),
    OpRecord(
        "layernorm",
        lambda a, s: nn.LayerNorm(list(s[0])),
        elastic=lambda s: ElasticLayerNorm(s["max_shape"]),
        max_sizes=lambda m: {"max_shape": tuple(m.out_max)},
        call=call_x,
    ),
)
