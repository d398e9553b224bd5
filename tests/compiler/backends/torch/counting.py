"""Independent counts of a built module, from the tensors a forward actually sees:
MACs by forward hooks per layer (not through the compiler's op rules)."""

from __future__ import annotations

import math

import torch
from torch import nn

from archc.runtime.ops.record import Lambda
from archc.runtime.ops.transformer import Attention


def _conv(m: nn.Conv2d, x: torch.Tensor, out: torch.Tensor) -> int:
    per_output = (m.in_channels // m.groups) * math.prod(m.kernel_size)
    return out[0].numel() * per_output


def _deconv(m: nn.ConvTranspose2d, x: torch.Tensor, out: torch.Tensor) -> int:
    # true MACs: every input pixel meets (Cout / groups) k x k filters
    return x[0].numel() * (m.out_channels // m.groups) * math.prod(m.kernel_size)


def _linear(m: nn.Linear, x: torch.Tensor, out: torch.Tensor) -> int:
    return m.in_features * m.out_features * (x[0].numel() // m.in_features)


def _lambda(m: Lambda, x: torch.Tensor, out: torch.Tensor) -> int:
    return x[0].numel() if m.name == "attention_pool" else 0  # [C, HW] @ [HW, 1]


def _attention(m: Attention, x: torch.Tensor, out: torch.Tensor) -> int:
    # q k^T and the weighted sum over N tokens; its two nn.Linears count themselves
    tokens = x[0].numel() // x.shape[1]
    return 2 * tokens * tokens * m.inner


COUNTERS = (
    (nn.Conv2d, _conv),
    (nn.ConvTranspose2d, _deconv),
    (nn.Linear, _linear),
    (Lambda, _lambda),
    (Attention, _attention),
)


def hook_macs(module: nn.Module, *inputs: torch.Tensor, **named: torch.Tensor) -> int:
    """MACs of one sample: every conv, transposed conv, linear and attention matmul."""
    total = 0

    def hook(m, args, out):
        nonlocal total
        for kind, count in COUNTERS:
            if isinstance(m, kind):
                total += count(m, args[0], out)

    handles = [
        m.register_forward_hook(hook)
        for m in module.modules()
        if isinstance(m, tuple(k for k, _ in COUNTERS))
    ]
    try:
        with torch.no_grad():
            module(*inputs, **named)
    finally:
        for handle in handles:
            handle.remove()
    return total
