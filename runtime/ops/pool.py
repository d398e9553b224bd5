"""Pooling and resampling (maxpool, avgpool, global_avgpool, upsample, resize_like,
attention_pool): plain modules and their records. Pools use the 'same' padding rule
(`same_padding`) and do not count padding; bilinear resizing uses
align_corners=False unless an upsample asks for True."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archc.compiler.ops.padding import same_padding
from archc.runtime.ops.record import Attrs, Lambda, OpRecord, register


def _maxpool(a: Attrs, shapes: list) -> nn.Module:
    return nn.MaxPool2d(a["k"], a["stride"], same_padding(a["k"], a["padding"]))


def _avgpool(a: Attrs, shapes: list) -> nn.Module:
    pad = same_padding(a["k"], a["padding"])
    return nn.AvgPool2d(a["k"], a["stride"], pad, count_include_pad=False)


def _corners(mode: str, corners: bool = False) -> dict:
    return {"align_corners": corners} if mode == "bilinear" else {}


def _upsample(a: Attrs, shapes: list) -> nn.Module:
    corners = _corners(a["mode"], a.get("align_corners", False))
    return nn.Upsample(scale_factor=a["factor"], mode=a["mode"], **corners)


def _resize_like(a: Attrs, shapes: list) -> nn.Module:
    def resize(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=ref.shape[-2:], mode=a["mode"], **_corners(a["mode"]))

    return Lambda(f"resize {a['mode']}", resize)


def attention_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """softmax(mask over H*W) as weights of a sum over the pixels of x: [C, 1, 1]."""
    n, c, h, w = x.shape
    weights = torch.softmax(mask.reshape(n, 1, h * w), dim=-1)
    return torch.matmul(x.reshape(n, c, h * w), weights.transpose(1, 2))[..., None]


register(
    OpRecord("maxpool", _maxpool),
    OpRecord("avgpool", _avgpool),
    OpRecord("global_avgpool", lambda a, s: nn.AdaptiveAvgPool2d(1)),
    OpRecord("upsample", _upsample),
    OpRecord("resize_like", _resize_like),
    OpRecord("attention_pool", lambda a, s: Lambda("attention_pool", attention_pool)),
)
