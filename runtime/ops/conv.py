"""Convolutions and linear layers (conv, deconv, linear): elastic modules, plain modules
and their records. The elastic slicing follows ViPNAS appendix A.1:

    weight [O_max, (I/groups)_max, K_max, K_max]
      width W      -> rows    [:W]             (the first W filters)
      input I      -> columns [:I // groups]   (group slicing, ViPNAS Fig. A3)
      kernel K     -> centre  [c:c+K, c:c+K]   (c = (K_max - K) // 2)

The column count is the largest input width per group over all configs (the
full input width only when groups can be 1).

A transposed conv keeps PyTorch's layout [I_max, O_max, K, K]: rows are input
channels, columns output channels per group. Padding: 'same' for conv
(`same_padding`), SimpleBaseline's rule for deconv (`deconv_padding`), as the op
rules and the ONNX emitters compute them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from archc.compiler.ops.conv import deconv_padding
from archc.compiler.ops.padding import same_padding
from archc.runtime.ops.record import Attrs, Largest, OpRecord, register


def centre_crop(weight: torch.Tensor, k: int) -> torch.Tensor:
    """The centred k x k part of a [.., .., K, K] kernel."""
    start = (weight.shape[-1] - k) // 2
    return weight[..., start : start + k, start : start + k]


class _SlicedConv(nn.Module):
    """What both conv families share: exporting their slice into a fixed module."""

    def sliced(self, cin: int, out: int, k: int, groups: int):
        raise NotImplementedError  # each family slices its own weight layout

    def export(self, module: nn.Conv2d | nn.ConvTranspose2d) -> None:
        """Copy the slice a fixed module of that size needs into it."""
        weight, bias = self.sliced(
            module.in_channels, module.out_channels, module.kernel_size[0], module.groups
        )
        with torch.no_grad():
            module.weight.copy_(weight)
            if bias is not None:
                module.bias.copy_(bias)


class ElasticConv2d(_SlicedConv):
    """A conv whose width, input width, kernel and groups are chosen per forward.

    Why: every config of a supernet trains the same weights (ViPNAS's weight sharing),
    so the weight is allocated once at [O_max, (I/groups)_max, K_max, K_max] and each
    call takes the first `out` filters, the first I/groups input columns and the
    centred k x k kernel. `export` copies exactly that slice into an `nn.Conv2d` of
    the subnet's size, so the derived module computes what the supernet computed."""

    def __init__(self, max_in_per_group: int, max_out: int, max_k: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_out, max_in_per_group, max_k, max_k))
        self.bias = nn.Parameter(torch.zeros(max_out)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def sliced(self, cin: int, out: int, k: int, groups: int):
        weight = centre_crop(self.weight[:out, : cin // groups], k)
        return weight, (self.bias[:out] if self.bias is not None else None)

    def forward(
        self,
        x: torch.Tensor,
        out: int,
        k: int,
        stride: int = 1,
        groups: int = 1,
        dilation: int = 1,
        padding: int = -1,
    ) -> torch.Tensor:
        weight, bias = self.sliced(x.shape[1], out, k, groups)
        pad = same_padding(k, padding, dilation)
        return F.conv2d(x, weight, bias, stride, pad, dilation, groups)


class ElasticConvTranspose2d(_SlicedConv):
    """A transposed conv sliced like `ElasticConv2d`, in PyTorch's transposed layout.

    Why its own class: the weight is [I_max, (O/groups)_max, K_max, K_max], so the
    input width slices the rows and the width per group the columns (the reverse of a
    conv). `export` copies the slice into an `nn.ConvTranspose2d` of the subnet's size."""

    def __init__(self, max_in: int, max_out: int, max_out_per_group: int, max_k: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_in, max_out_per_group, max_k, max_k))
        self.bias = nn.Parameter(torch.zeros(max_out)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def sliced(self, cin: int, out: int, k: int, groups: int):
        weight = centre_crop(self.weight[:cin, : out // groups], k)
        return weight, (self.bias[:out] if self.bias is not None else None)

    def forward(
        self,
        x: torch.Tensor,
        out: int,
        k: int,
        stride: int,
        groups: int,
        padding: int,
        output_padding: int,
    ) -> torch.Tensor:
        weight, bias = self.sliced(x.shape[1], out, k, groups)
        return F.conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups)


class ElasticLinear(nn.Module):
    """A linear layer on the flattened input: the first `out` rows, the first `in`
    columns of a [out_max, in_max] weight.

    Why: a classifier head whose width (or whose input's size) is a choice shares one
    weight over the configs; `export` copies the slice into the subnet's `FlatLinear`
    (an `nn.Linear`, same parameter names)."""

    def __init__(self, max_in: int, max_out: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_out, max_in))
        self.bias = nn.Parameter(torch.zeros(max_out)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor, out: int) -> torch.Tensor:
        flat = x.flatten(1)
        bias = self.bias[:out] if self.bias is not None else None
        return F.linear(flat, self.weight[:out, : flat.shape[1]], bias)[:, :, None, None]

    def export(self, module: nn.Linear) -> None:
        with torch.no_grad():
            module.weight.copy_(self.weight[: module.out_features, : module.in_features])
            if module.bias is not None:
                module.bias.copy_(self.bias[: module.out_features])


class FlatLinear(nn.Linear):
    """`linear` acts on the flattened input and returns [out, 1, 1]. An `nn.Linear`
    itself (not a wrapper around one), so its weights have the names the supernet's
    elastic linear has, and `derive` and `export` copy them like any other layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))[:, :, None, None]


# ---- records


def _conv(a: Attrs, shapes: list) -> nn.Module:
    pad = same_padding(a["k"], a["padding"], a["dilation"])
    return nn.Conv2d(
        shapes[0][0], a["out"], a["k"], a["stride"], pad, a["dilation"], a["groups"], bias=a["bias"]
    )


def _conv_sizes(m: Largest) -> dict:
    """Grouped convs keep only the largest per-group slice ([O, I / groups, K, K]), not
    [O, I, K, K]: a depthwise layer would otherwise hold (and back-propagate into) I times
    more weights."""
    return {
        "max_in_per_group": m.bound(m.x[0] // m.attrs.get("groups", 1)),
        "max_out": m.out_max[0],
        "max_k": m.top("k", 1),
        "bias": bool(m.top("bias", False)),
    }


def _call_conv(module: nn.Module, a: Attrs, xs: list) -> torch.Tensor:
    return module(xs[0], a["out"], a["k"], a["stride"], a["groups"], a["dilation"], a["padding"])


def _deconv(a: Attrs, shapes: list) -> nn.Module:
    pad, out_pad = deconv_padding(a["k"])
    return nn.ConvTranspose2d(
        shapes[0][0],
        a["out"],
        a["k"],
        a["stride"],
        pad,
        out_pad,
        groups=a["groups"],
        bias=a["bias"],
    )


def _deconv_sizes(m: Largest) -> dict:
    return {
        "max_in": m.x_max[0],
        "max_out": m.out_max[0],
        "max_out_per_group": m.bound(m.out[0] // m.attrs.get("groups", 1)),
        "max_k": m.top("k", 1),
        "bias": bool(m.top("bias", False)),
    }


def _call_deconv(module: nn.Module, a: Attrs, xs: list) -> torch.Tensor:
    pad, out_pad = deconv_padding(a["k"])
    return module(xs[0], a["out"], a["k"], a["stride"], a["groups"], pad, out_pad)


def _linear_sizes(m: Largest) -> dict:
    c, h, w = m.x_max
    return {"max_in": c * h * w, "max_out": m.out_max[0], "bias": bool(m.top("bias", False))}


register(
    OpRecord(
        "conv",
        _conv,
        elastic=lambda s: ElasticConv2d(**s),
        max_sizes=_conv_sizes,
        call=_call_conv,
    ),
    OpRecord(
        "deconv",
        _deconv,
        elastic=lambda s: ElasticConvTranspose2d(**s),
        max_sizes=_deconv_sizes,
        call=_call_deconv,
    ),
    OpRecord(
        "linear",
        lambda a, s: FlatLinear(s[0][0] * s[0][1] * s[0][2], a["out"], bias=a["bias"]),
        elastic=lambda s: ElasticLinear(**s),
        max_sizes=_linear_sizes,
        call=lambda module, a, xs: module(xs[0], a["out"]),
    ),
)
