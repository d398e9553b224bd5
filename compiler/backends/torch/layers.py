"""Plain (non-elastic) torch implementations of the primitive ops, keyed by op name.

Each builder receives the node's evaluated attributes and input shapes and
returns a callable module; parameter-free ops are small `nn.Module`s too, so
every IR node maps to exactly one module and forward hooks see every op.
Conventions match `compiler/ops` exactly (that is what the tests check):
'same' padding for conv and pools, SimpleBaseline padding for deconv, pools
that do not count padding, bilinear resizing with align_corners=False (unless
an upsample asks for True).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archc.compiler.backends.torch.layers_transformer import TRANSFORMER_BUILDERS
from archc.compiler.ops.conv import deconv_padding
from archc.kernel.symbolic import evaluate
from archc.runtime.ops.drop import DropPath

Builder = Callable[[dict[str, Any], list[tuple[int, int, int]]], nn.Module]


class Lambda(nn.Module):
    """A parameter-free op with a readable name in `print(module)`."""

    def __init__(self, name: str, fn: Callable[..., torch.Tensor]):
        super().__init__()
        self.name = name
        self.fn = fn

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(*xs)

    def extra_repr(self) -> str:
        return self.name


class FlatLinear(nn.Linear):
    """`linear` acts on the flattened input and returns [out, 1, 1]. An `nn.Linear`
    itself (not a wrapper around one), so its weights have the names the supernet's
    elastic linear has, and `derive` and `export` copy them like any other layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))[:, :, None, None]


def _conv(a: dict, shapes: list) -> nn.Module:
    pad = a["dilation"] * (a["k"] - 1) // 2 if a["padding"] == -1 else a["padding"]
    return nn.Conv2d(
        shapes[0][0], a["out"], a["k"], a["stride"], pad, a["dilation"], a["groups"], bias=a["bias"]
    )


def _deconv(a: dict, shapes: list) -> nn.Module:
    pad, out_pad = (evaluate(v, {}) for v in deconv_padding(a["k"]))
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


def _pool(kind: str) -> Builder:
    def build(a: dict, shapes: list) -> nn.Module:
        pad = (a["k"] - 1) // 2 if a["padding"] == -1 else a["padding"]
        if kind == "max":
            return nn.MaxPool2d(a["k"], a["stride"], pad)
        return nn.AvgPool2d(a["k"], a["stride"], pad, count_include_pad=False)

    return build


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


def _activation(name: str) -> Builder:
    return lambda a, s: Lambda(name, ACTIVATIONS[name])


def _attention_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    weights = torch.softmax(mask.reshape(n, 1, h * w), dim=-1)
    return torch.matmul(x.reshape(n, c, h * w), weights.transpose(1, 2))[..., None]


def _scatter(a: dict, shapes: list) -> nn.Module:
    index = torch.tensor(a["index"], dtype=torch.long)

    def place(x: torch.Tensor) -> torch.Tensor:
        out = x.new_zeros(x.shape[0], a["channels"], *x.shape[2:])
        return out.index_add(1, index.to(x.device), x)

    return Lambda(f"scatter {list(a['index'])} -> {a['channels']}", place)


def _squash(a: dict, shapes: list) -> nn.Module:
    def squash(x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        norm2 = x.reshape(n, c // a["dim"], a["dim"], h, w).pow(2).sum(2)
        return norm2 / (1 + norm2)

    return Lambda(f"squash dim={a['dim']}", squash)


def _shuffle(a: dict, shapes: list) -> nn.Module:
    groups = a["groups"]

    def shuffle(x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    return Lambda(f"shuffle groups={groups}", shuffle)


def _crop(a: dict, shapes: list) -> nn.Module:
    _, h, w = shapes[0]
    rows, cols = slice(a["top"], h - a["bottom"]), slice(a["left"], w - a["right"])
    return Lambda(
        f"crop rows {rows.start}:{rows.stop} cols {cols.start}:{cols.stop}",
        lambda x: x[:, :, rows, cols],
    )


def _zero(a: dict, shapes: list) -> nn.Module:
    s = a.get("stride", 1)
    if s == 1:
        return Lambda("zero", torch.zeros_like)
    return Lambda(f"zero stride={s}", lambda x: torch.zeros_like(x[:, :, ::s, ::s]))


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


BUILDERS: dict[str, Builder] = {
    "conv": _conv,
    "deconv": _deconv,
    "linear": lambda a, s: FlatLinear(s[0][0] * s[0][1] * s[0][2], a["out"], bias=a["bias"]),
    "bn": lambda a, s: nn.BatchNorm2d(s[0][0], affine=a["affine"]),
    "layernorm": lambda a, s: nn.LayerNorm(list(s[0])),
    **{name: _activation(name) for name in ACTIVATIONS if name not in ("identity", "hsigmoid")},
    "hsigmoid": lambda a, s: Lambda("hsigmoid", lambda x: hsigmoid(x, a["bias"], a["divisor"])),
    "activation": lambda a, s: Lambda(a["fn"], ACTIVATIONS[a["fn"]]),
    "maxpool": _pool("max"),
    "avgpool": _pool("avg"),
    "global_avgpool": lambda a, s: nn.AdaptiveAvgPool2d(1),
    "upsample": lambda a, s: nn.Upsample(
        scale_factor=a["factor"],
        mode=a["mode"],
        **({"align_corners": a.get("align_corners", False)} if a["mode"] == "bilinear" else {}),
    ),
    "resize_like": lambda a, s: Lambda(
        f"resize {a['mode']}",
        lambda x, ref: F.interpolate(
            x,
            size=ref.shape[-2:],
            mode=a["mode"],
            **({"align_corners": False} if a["mode"] == "bilinear" else {}),
        ),
    ),
    "attention_pool": lambda a, s: Lambda("attention_pool", _attention_pool),
    "add": lambda a, s: Lambda("add", _sum),
    "mul": lambda a, s: Lambda("mul", _product),
    "cat": lambda a, s: Lambda("cat", lambda *xs: torch.cat(xs, dim=1)),
    "scatter": _scatter,
    "squash": _squash,
    "skip": lambda a, s: nn.Identity(),
    "zero": _zero,
    "channel_slice": lambda a, s: Lambda(
        f"channels {a['start']}:{a['stop']}", lambda x: x[:, a["start"] : a["stop"]]
    ),
    "shuffle": _shuffle,
    "flatten": lambda a, s: Lambda("flatten", lambda x: x.reshape(x.shape[0], -1, 1, 1)),
    "crop": _crop,
    "dropout": lambda a, s: nn.Dropout(a["p"]),
    "drop_path": lambda a, s: DropPath(a["p"]),
    **TRANSFORMER_BUILDERS,
}
