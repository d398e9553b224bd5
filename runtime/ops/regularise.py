"""Regularisation (dropout, drop_path): their records, drop-path (stochastic depth) and
the training-time schedule of its rate. Both act in training only (identities in eval
mode and in ONNX).

Why a module of its own and not `nn.Dropout`: drop-path zeroes whole samples
(one Bernoulli draw per sample, shared by every channel and pixel), as DARTS,
timm and AutoFormer do, and its rate follows a schedule: DARTS ramps it
linearly from 0 over the epochs (`drop_path_prob * epoch / epochs`). The
schedule multiplies every module's own rate `p` by `scale`, so rates that
grow with depth (timm's `linspace(0, rate, depth)`, written in the `.arch`
file) keep their proportions while the whole net ramps up.
"""

from __future__ import annotations

import torch
from torch import nn

from archc.runtime.ops.record import OpRecord, register


class DropPath(nn.Module):
    """Zeroes whole samples with probability p * scale in training (and rescales the
    kept ones by 1 / keep), the identity in eval mode."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)
        self.scale = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p * self.scale
        if not self.training or p <= 0.0:
            return x
        keep = 1.0 - p
        mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device, dtype=x.dtype)
        return x * mask.bernoulli_(keep) / keep

    def extra_repr(self) -> str:
        return f"p={self.p}" + (f", scale={self.scale:g}" if self.scale != 1.0 else "")


def set_drop_path_scale(model: nn.Module, scale: float) -> int:
    """Scale the rate of every drop-path of `model` (a supernet's shared parameter-free
    layers included); returns how many there are. `scale` lies in [0, 1]."""
    if not 0.0 <= scale <= 1.0:
        raise ValueError(f"a drop-path scale lies in [0, 1], not {scale}")
    layers = [m for m in _all_modules(model) if isinstance(m, DropPath)]
    for layer in layers:
        layer.scale = float(scale)
    return len(layers)


def _all_modules(model: nn.Module):
    yield from model.modules()
    for m in list(model.modules()):
        yield from getattr(m, "free_layers", lambda: ())()


register(
    OpRecord("dropout", lambda a, s: nn.Dropout(a["p"])),
    OpRecord("drop_path", lambda a, s: DropPath(a["p"])),
)
