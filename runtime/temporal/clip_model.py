"""Temporal nets as modules over clips, so validation, the search and inference run
them like any pose net.

`Propagation` wraps the T-frame net (a supernet with a config active, or a
derived subnet): (key maps, frames) -> maps of the T frames, stacked. It owns
the BatchNorms that recalibration resets; the key net is never among them.
`ClipModel` puts the frozen key net in front: a clip (B, T+1, 3, H, W) -> its
maps (B, T+1, K, h, w), the key frame's from the key net and every later
frame's from the frame before it, which is ViPNAS's online inference (3.1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archc.runtime.temporal.contract import TemporalContract, propagate
from archc.runtime.temporal.keynet import KeyNet


class Propagation(nn.Module):
    """(key maps (B, K, h, w), frames (B, T, 3, H, W)) -> (B, T, K, h, w)."""

    def __init__(self, net: nn.Module, contract: TemporalContract):
        super().__init__()
        self.net, self.contract = net, contract

    def forward(self, key_maps: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        return propagate(self.net, self.contract, key_maps, frames)


class ClipModel(nn.Module):
    """Clips (B, T+1, 3, H, W) -> heatmaps (B, T+1, K, h, w) of every frame."""

    def __init__(self, key_net: KeyNet, propagation: Propagation):
        super().__init__()
        self.propagation = propagation
        self._key = key_net  # not a submodule: frozen, never recalibrated or checkpointed

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        key_maps = self._key(clips[:, 0]).to(clips.dtype)
        maps = self.propagation(key_maps, clips[:, 1:])
        return torch.cat([key_maps.unsqueeze(1).to(maps.dtype), maps], dim=1)


def key_inputs(key_net: KeyNet, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(key maps, frames) of clips (B, T+1, 3, H, W): what `Propagation` takes."""
    return key_net(clips[:, 0]), clips[:, 1:]


def recalibration_batches(key_net: KeyNet, clips: list[torch.Tensor]) -> list[Any]:
    """Calibration clips as `Propagation` inputs (the key maps computed once)."""
    return [key_inputs(key_net, c) for c in clips]
