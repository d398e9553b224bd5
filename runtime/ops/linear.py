"""Elastic linear layer on the flattened input: the first `out` rows, first `in` columns."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ElasticLinear(nn.Module):
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
