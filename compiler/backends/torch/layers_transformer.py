"""Plain torch modules of the transformer ops (merged into `layers.BUILDERS`).

They compute with the functional forms of `archc.runtime.ops.attention`, which the
elastic modules share, and keep timm's parameter names (`qkv.weight`, `proj.bias`),
so a derived subnet's state dict reads like a ViT's. Attention calls its two
`nn.Linear`s as modules, so forward hooks see them.
"""

from __future__ import annotations

import torch
from torch import nn

from archc.runtime.ops.attention import (
    add_position,
    channel_norm,
    mix_heads,
    prepend_token,
    to_map,
    tokens,
)


class ChannelNorm(nn.Module):
    def __init__(self, channels: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_norm(x, self.weight, self.bias, self.eps)


class Attention(nn.Module):
    """Multi-head self-attention over the positions of a [B, C, H, W] map."""

    def __init__(self, channels: int, heads: int, head_dim: int, qkv_bias: bool):
        super().__init__()
        self.heads = heads
        self.inner = heads * (head_dim or channels // heads)
        self.qkv = nn.Linear(channels, 3 * self.inner, bias=qkv_bias)
        self.proj = nn.Linear(self.inner, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_map(self.proj(mix_heads(self.qkv(tokens(x)), self.heads)), x)


class PosEmbed(nn.Module):
    def __init__(self, shape: tuple[int, int, int], extra: int):
        super().__init__()
        c, h, w = shape
        self.extra = extra
        self.weight = nn.Parameter(torch.zeros(c, extra + h * w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return add_position(x, self.weight, self.extra)


class ClsToken(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return prepend_token(x, self.weight)


class TakeCls(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :1, :1]


TRANSFORMER_BUILDERS = {
    "channel_norm": lambda a, s: ChannelNorm(s[0][0], a["eps"]),
    "attention": lambda a, s: Attention(s[0][0], a["heads"], a["head_dim"], a["qkv_bias"]),
    "pos_embed": lambda a, s: PosEmbed(tuple(s[0]), a["extra"]),
    "cls_token": lambda a, s: ClsToken(s[0][0]),
    "take_cls": lambda a, s: TakeCls(),
}
