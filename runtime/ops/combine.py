"""Combining tensors and search-space helpers (add, mul, cat, scatter, squash, skip,
zero): parameter-free plain modules and their records. `add` and `mul` fold left, in
input order (the order matters in float, and the ONNX emitters follow it)."""

from __future__ import annotations

import torch
from torch import nn

from archc.runtime.ops.record import Attrs, Lambda, OpRecord, register


def _sum(*xs: torch.Tensor) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _product(*xs: torch.Tensor) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out


def _scatter(a: Attrs, shapes: list) -> nn.Module:
    index = torch.tensor(a["index"], dtype=torch.long)

    def place(x: torch.Tensor) -> torch.Tensor:
        out = x.new_zeros(x.shape[0], a["channels"], *x.shape[2:])
        return out.index_add(1, index.to(x.device), x)

    return Lambda(f"scatter {list(a['index'])} -> {a['channels']}", place)


def _squash(a: Attrs, shapes: list) -> nn.Module:
    def squash(x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        norm2 = x.reshape(n, c // a["dim"], a["dim"], h, w).pow(2).sum(2)
        return norm2 / (1 + norm2)

    return Lambda(f"squash dim={a['dim']}", squash)


def _zero(a: Attrs, shapes: list) -> nn.Module:
    s = a.get("stride", 1)
    if s == 1:
        return Lambda("zero", torch.zeros_like)
    return Lambda(f"zero stride={s}", lambda x: torch.zeros_like(x[:, :, ::s, ::s]))


register(
    OpRecord("add", lambda a, s: Lambda("add", _sum)),
    OpRecord("mul", lambda a, s: Lambda("mul", _product)),
    OpRecord("cat", lambda a, s: Lambda("cat", lambda *xs: torch.cat(xs, dim=1))),
    OpRecord("scatter", _scatter),
    OpRecord("squash", _squash),
    OpRecord("skip", lambda a, s: nn.Identity()),
    OpRecord("zero", _zero),
)
