"""Channel and shape ops (channel_slice, shuffle, flatten, crop): parameter-free plain
modules and their records. Every size is fixed by the node (a supernet builds one per
config that needs it)."""

from __future__ import annotations

import torch

from archc.runtime.ops.record import Attrs, Lambda, OpRecord, register


def _channel_slice(a: Attrs, shapes: list) -> Lambda:
    return Lambda(f"channels {a['start']}:{a['stop']}", lambda x: x[:, a["start"] : a["stop"]])


def _shuffle(a: Attrs, shapes: list) -> Lambda:
    groups = a["groups"]

    def shuffle(x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    return Lambda(f"shuffle groups={groups}", shuffle)


def _crop(a: Attrs, shapes: list) -> Lambda:
    _, h, w = shapes[0]
    rows, cols = slice(a["top"], h - a["bottom"]), slice(a["left"], w - a["right"])
    return Lambda(
        f"crop rows {rows.start}:{rows.stop} cols {cols.start}:{cols.stop}",
        lambda x: x[:, :, rows, cols],
    )


register(
    OpRecord("channel_slice", _channel_slice),
    OpRecord("shuffle", _shuffle),
    OpRecord("flatten", lambda a, s: Lambda("flatten", lambda x: x.reshape(x.shape[0], -1, 1, 1))),
    OpRecord("crop", _crop),
)
