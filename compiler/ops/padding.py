"""The 'same' padding rule of conv and the pools, written once.

A `padding` of -1 (the prelude's default) means 'same': dilation * (k - 1) // 2 on
every side, which keeps H and W at stride 1 for an odd kernel. The op rules, the torch
modules (plain and elastic) and the ONNX emitters all read it from here, so they
cannot drift apart. Torch-free and symbol-friendly: `k` and `dilation` may be `Sym`s
(a kernel that is a choice); `1 * x` folds to `x`, so a pool's padding is (k - 1) // 2.
"""

from __future__ import annotations

from typing import Any

SAME = -1  # the `padding` that asks for 'same' padding


def same_padding(k: Any, padding: Any = SAME, dilation: Any = 1) -> Any:
    """`padding`, or 'same' padding for a `k` x `k` kernel when it is -1."""
    return dilation * (k - 1) // 2 if padding == SAME else padding
