"""Activations: the torch function of each name and its record (a parameter-free
`Lambda`). `activation(fn=...)` picks one by name; `hsigmoid` takes its bias and
divisor from the node (ViPNAS uses 1 and 2, MobileNetV3 3 and 6)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from archc.runtime.ops.record import Lambda, OpRecord, register


def hsigmoid(x: torch.Tensor, bias: float = 3.0, divisor: float = 6.0) -> torch.Tensor:
    return torch.clamp((x + bias) / divisor, 0.0, 1.0)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "relu6": F.relu6,
    "hswish": F.hardswish,
    "hsigmoid": hsigmoid,
    "sigmoid": torch.sigmoid,
    "swish": F.silu,
    "gelu": F.gelu,
    "identity": lambda x: x,
}


def _fixed(name: str) -> OpRecord:
    return OpRecord(name, lambda a, s: Lambda(name, ACTIVATIONS[name]))


register(
    *(_fixed(name) for name in ACTIVATIONS if name not in ("identity", "hsigmoid")),
    OpRecord(
        "hsigmoid",
        lambda a, s: Lambda("hsigmoid", lambda x: hsigmoid(x, a["bias"], a["divisor"])),
    ),
    OpRecord("activation", lambda a, s: Lambda(a["fn"], ACTIVATIONS[a["fn"]])),
)
