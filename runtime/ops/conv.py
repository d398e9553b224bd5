"""Elastic convolution and transposed convolution (ViPNAS appendix A.1).

    weight [O_max, (I/groups)_max, K_max, K_max]
      width W      -> rows    [:W]             (the first W filters)
      input I      -> columns [:I // groups]   (group slicing, ViPNAS Fig. A3)
      kernel K     -> centre  [c:c+K, c:c+K]   (c = (K_max - K) // 2)

The column count is the largest input width per group over all configs (the
full input width only when groups can be 1).

A transposed conv keeps PyTorch's layout [I_max, O_max, K, K]: rows are input
channels, columns output channels per group.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


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
        pad = dilation * (k - 1) // 2 if padding == -1 else padding
        return F.conv2d(x, weight, bias, stride, pad, dilation, groups)


class ElasticConvTranspose2d(_SlicedConv):
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
