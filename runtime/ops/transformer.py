"""Transformer ops (channel_norm, attention, pos_embed, cls_token, take_cls): the
functional forms, the elastic modules (AutoFormer's weight entanglement), the plain
modules and their records. Plain and elastic modules compute with the same functional
forms, so a supernet slice and its derived module compute the same thing operation for
operation; the plain ones keep timm's parameter names (`qkv.weight`, `proj.bias`), so a
derived subnet's state dict reads like a ViT's.

Tokens are in map layout: x is [B, C, H, W] (or a sequence [B, C, N, 1]) and the
N = H * W positions are the tokens. Weights are allocated at the largest sizes and
every config takes the leading slices:

    channel_norm  weight, bias [C_max]            -> [:C]
    attention     qkv.weight [3 I_max, C_max]     -> columns [:C], rows [:3 I] taken
                                                     interleaved as AutoFormer's
                                                     `qkv_super.sample_weight`: q = rows
                                                     0, 3, 6, ..., k = 1, 4, ..., v = 2, 5, ...
                  qkv.bias [3 I_max]              -> [:3 I] in order (q, k, v blocks), as
                                                     AutoFormer's `sample_bias`
                  proj.weight [C_max, I_max]      -> [:C, :I];  proj.bias -> [:C]
    pos_embed     weight [C_max, extra + N]       -> [:C]
    cls_token     weight [C_max]                  -> [:C]

with I = heads * head_dim. A head keeps its place: head h of a config with fewer heads
uses the same rows as head h of the largest.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from archc.compiler.ops.registry import Rules
from archc.compiler.ops.transformer import inner_dim
from archc.runtime.ops.record import Largest, OpRecord, call_x, register


def channel_norm(x: torch.Tensor, weight, bias, eps: float) -> torch.Tensor:
    """LayerNorm over dim 1 (channels) at every position."""
    c = x.shape[1]
    return F.layer_norm(x.movedim(1, -1), (c,), weight, bias, eps).movedim(-1, 1)


def tokens(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, N, C]."""
    return x.flatten(2).transpose(1, 2)


def mix_heads(qkv: torch.Tensor, heads: int) -> torch.Tensor:
    """[B, N, 3 I] (q, k, v blocks) -> softmax(q k^T / sqrt(d)) v per head, [B, N, I]."""
    b, n, width = qkv.shape
    d = width // (3 * heads)
    q, k, v = qkv.reshape(b, n, 3, heads, d).permute(2, 0, 3, 1, 4)
    weights = torch.softmax((q * d**-0.5) @ k.transpose(-2, -1), dim=-1)
    return (weights @ v).transpose(1, 2).reshape(b, n, heads * d)


def to_map(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """[B, N, C] -> the layout of `like`, [B, C, H, W]."""
    return t.transpose(1, 2).reshape(like.shape[0], t.shape[2], *like.shape[2:])


def add_position(x: torch.Tensor, weight: torch.Tensor, extra: int) -> torch.Tensor:
    """x + pos[:, extra:] (+ the sum of the first `extra` slots, broadcast): ViTPose's
    `x + pos_embed[:, 1:] + pos_embed[:, :1]` for extra = 1."""
    c, h, w = x.shape[1:]
    out = x + weight[:, extra:].reshape(1, c, h, w)
    if extra:
        out = out + weight[:, :extra].sum(1).reshape(1, c, 1, 1)
    return out


def prepend_token(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, C, H * W + 1, 1], the learned token first."""
    b, c = x.shape[:2]
    token = weight.reshape(1, c, 1).expand(b, c, 1)
    return torch.cat([token, x.flatten(2)], dim=2)[..., None]


class ElasticChannelNorm(nn.Module):
    """LayerNorm over the channels at every position, with weight and bias at the largest
    width C_max; an input of C channels uses the first C.

    Why: a ViT's embedding width is a choice (AutoFormer); `export` copies the first C
    into the subnet's `ChannelNorm`."""

    def __init__(self, max_channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(max_channels))
        self.bias = nn.Parameter(torch.zeros(max_channels))

    def forward(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        c = x.shape[1]
        return channel_norm(x, self.weight[:c], self.bias[:c], eps)

    def export(self, module: nn.Module) -> None:
        c = module.weight.shape[0]
        with torch.no_grad():
            module.weight.copy_(self.weight[:c])
            module.bias.copy_(self.bias[:c])


class ElasticAttention(nn.Module):
    """Multi-head self-attention whose width C and heads x head_dim are chosen per forward.

    Why: AutoFormer entangles every config's attention in one set of weights: the qkv
    rows are taken interleaved (q, k, v of the first heads) and the projection's leading
    block (see the module docstring). qkv and proj are `nn.Linear`s only as holders of
    the largest weights (their state dict keys are those of the plain module); forward
    slices them, and `export` copies the same slices into the subnet's `Attention`."""

    def __init__(self, max_channels: int, max_inner: int, qkv_bias: bool):
        super().__init__()
        self.qkv = nn.Linear(max_channels, 3 * max_inner, bias=qkv_bias)
        self.proj = nn.Linear(max_inner, max_channels)
        nn.init.kaiming_uniform_(self.qkv.weight, a=math.sqrt(5))

    def sliced(self, c: int, inner: int):
        """(qkv weight, qkv bias, proj weight, proj bias) of a C-channel, I-wide config."""
        rows = self.qkv.weight[: 3 * inner, :c]
        qkv_w = torch.cat([rows[i::3] for i in range(3)])
        qkv_b = self.qkv.bias[: 3 * inner] if self.qkv.bias is not None else None
        return qkv_w, qkv_b, self.proj.weight[:c, :inner], self.proj.bias[:c]

    def forward(self, x: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
        c = x.shape[1]
        inner = heads * (head_dim or c // heads)
        qkv_w, qkv_b, proj_w, proj_b = self.sliced(c, inner)
        mixed = mix_heads(F.linear(tokens(x), qkv_w, qkv_b), heads)
        return to_map(F.linear(mixed, proj_w, proj_b), x)

    def export(self, module: nn.Module) -> None:
        weights = self.sliced(module.proj.out_features, module.proj.in_features)
        targets = (module.qkv.weight, module.qkv.bias, module.proj.weight, module.proj.bias)
        with torch.no_grad():
            for target, weight in zip(targets, weights, strict=True):
                if target is not None:
                    target.copy_(weight)


class ElasticPosEmbed(nn.Module):
    """A learned position embedding [C_max, extra + N]; an input of C channels adds the
    first C rows.

    Why: the width is a choice, the token grid is not (N is fixed by the input size);
    `export` copies the first C rows into the subnet's `PosEmbed`."""

    def __init__(self, max_channels: int, slots: int, extra: int):
        super().__init__()
        self.extra = extra
        self.weight = nn.Parameter(torch.zeros(max_channels, slots))
        nn.init.trunc_normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return add_position(x, self.weight[: x.shape[1]], self.extra)

    def export(self, module: nn.Module) -> None:
        with torch.no_grad():
            module.weight.copy_(self.weight[: module.weight.shape[0]])


class ElasticClsToken(nn.Module):
    """The learned class token [C_max], prepended to the tokens with its first C values.

    Why: it follows the embedding width, a choice; `export` copies the first C into the
    subnet's `ClsToken`."""

    def __init__(self, max_channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(max_channels))
        nn.init.trunc_normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return prepend_token(x, self.weight[: x.shape[1]])

    def export(self, module: nn.Module) -> None:
        with torch.no_grad():
            module.weight.copy_(self.weight[: module.weight.shape[0]])


# ---- plain modules


class ChannelNorm(nn.Module):
    def __init__(self, channels: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_norm(x, self.weight, self.bias, self.eps)


class Attention(nn.Module):
    """Multi-head self-attention over the positions of a [B, C, H, W] map. It calls its
    two `nn.Linear`s as modules, so forward hooks see them."""

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


# ---- records


def _attention_sizes(m: Largest) -> dict:
    """The largest inner width I = heads * head_dim; with a head_dim that may be 0
    (channels / heads) at least the largest channel count."""
    inner = m.bound(inner_dim(Rules(m.attrs, [m.x])))
    fixed = m.attrs["head_dim"]
    if not (isinstance(fixed, int) and fixed > 0):
        inner = max(inner, m.x_max[0], m.top("heads") * m.top("head_dim"))
    return {
        "max_channels": m.x_max[0],
        "max_inner": inner,
        "qkv_bias": bool(m.top("qkv_bias", False)),
    }


def _pos_embed_sizes(m: Largest) -> dict:
    c, h, w = m.x_max
    extra = m.top("extra", 0)
    return {"max_channels": c, "slots": extra + h * w, "extra": extra}


register(
    OpRecord(
        "channel_norm",
        lambda a, s: ChannelNorm(s[0][0], a["eps"]),
        elastic=lambda s: ElasticChannelNorm(**s),
        max_sizes=lambda m: {"max_channels": m.x_max[0]},
        call=lambda module, a, xs: module(xs[0], a["eps"]),
    ),
    OpRecord(
        "attention",
        lambda a, s: Attention(s[0][0], a["heads"], a["head_dim"], a["qkv_bias"]),
        elastic=lambda s: ElasticAttention(**s),
        max_sizes=_attention_sizes,
        call=lambda module, a, xs: module(xs[0], a["heads"], a["head_dim"]),
    ),
    OpRecord(
        "pos_embed",
        lambda a, s: PosEmbed(tuple(s[0]), a["extra"]),
        elastic=lambda s: ElasticPosEmbed(**s),
        max_sizes=_pos_embed_sizes,
        call=call_x,
    ),
    OpRecord(
        "cls_token",
        lambda a, s: ClsToken(s[0][0]),
        elastic=lambda s: ElasticClsToken(**s),
        max_sizes=lambda m: {"max_channels": m.x_max[0]},
        call=call_x,
    ),
    OpRecord("take_cls", lambda a, s: TakeCls()),
)
