"""The key-frame net: a trained single-frame pose net, fixed while the propagation
nets train, search and run (ViPNAS 3.4.2: "S-ViPNet is pre-trained and fixed").

Why it is loaded in two steps: what a key net *is* can be named two ways, a
training run folder (`archc train`: its config.json names the .arch file, the
subnet and the constants, its best or last weights hold the numbers) or a net
file with weights (a search's `best/`: its config.json and weights.safetensors
with the space file). `run_files` reads a run folder as plain JSON; the caller
compiles the file (the runtime never parses `.arch`), and `KeyNet.build` makes
the frozen module and checks it fits the temporal space: same crop, same
heatmaps, same keypoints, or the propagation would read maps of another size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archc.runtime.search.manifest import sha256_file
from archc.runtime.train.config import NetGeometry, TrainError, geometry_of


@dataclass(frozen=True)
class KeyNetFiles:
    """What a key net is made of: the .arch file, its subnet (or None), constants, weights."""

    file: Path
    weights: Path
    choices: dict[str, Any] | None = None
    defines: tuple[str, ...] | None = None  # a run's own -D constants; None: not a run

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "weights": str(self.weights),
            "weights_sha256": sha256_file(self.weights),
            "choices": self.choices,
            "defines": None if self.defines is None else list(self.defines),
        }


def run_files(run: str | os.PathLike) -> KeyNetFiles:
    """The key net of an `archc train` run folder: best.safetensors when the run has
    validated, else last.safetensors."""
    folder = Path(run)
    config = folder / "config.json"
    try:
        net = json.loads(config.read_text(encoding="utf-8"))["net"]
        file = Path(net["file"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TrainError(
            f"--key-net {run}: not a training run folder (no readable {config}: {err}); give "
            "the folder of `archc train`, or a net file with --key-weights"
        ) from None
    if net.get("sandwich") is not None or net.get("temporal") is not None:
        raise TrainError(
            f"--key-net {run} is a supernet run; the key net is one trained net (`archc "
            "train`, or a search's best/ as --key-net SPACE --key-config "
            "best/config.json --key-weights best/weights.safetensors)"
        )
    for name in ("best.safetensors", "last.safetensors"):
        if (folder / name).is_file():
            choices = (net.get("choices") or {}).get("choices") if net.get("choices") else None
            return KeyNetFiles(file, folder / name, choices, tuple(net.get("defines", [])))
    raise TrainError(f"--key-net {run}: the run has no weights yet (no epoch finished)")


@dataclass
class KeyNet:
    """A frozen single-frame net: `key_net(images)` -> heatmaps, without gradients."""

    module: nn.Module
    geometry: NetGeometry
    record: dict[str, Any] = field(default_factory=dict)  # what config.json records
    fixed: Any = None  # the compiled net (what ONNX export needs)

    @classmethod
    def build(cls, fixed: Any, weights: str | os.PathLike, record: dict | None = None) -> KeyNet:
        """The net of `fixed` (a Space without choices, e.g. `space.derive(config)`) with
        `weights` (strict names and shapes), in eval mode, every parameter frozen."""
        from archc.runtime.weights import WeightsError, load_weights
        from archc.torch import build_module

        geometry = geometry_of(fixed)
        module = build_module(fixed)
        try:
            load_weights(module, weights)
        except WeightsError as err:
            raise TrainError(f"the key net's weights do not fit `{geometry.name}`: {err}") from None
        module.eval().requires_grad_(False)
        return cls(module, geometry, dict(record or {}), fixed)

    def check_fits(self, frame: NetGeometry) -> None:
        """The key net must produce the heatmaps the temporal space reads as H^0."""
        mine = (self.geometry.input_size, self.geometry.heatmap_size, self.geometry.num_keypoints)
        theirs = (frame.input_size, frame.heatmap_size, frame.num_keypoints)
        if mine != theirs:
            raise TrainError(
                f"the key net `{self.geometry.name}` takes {_sizes(*mine)} but `{frame.name}` "
                f"takes {_sizes(*theirs)}: the key net must see the frames' crops and give "
                "the heatmaps the propagation reads (same -D sizes for both files)"
            )

    def to(self, device: torch.device) -> KeyNet:
        self.module.to(device)
        return self

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Heatmaps of `images`, on their device (the net follows them there)."""
        if next(self.module.parameters(), images).device != images.device:
            self.module.to(images.device)
        self.module.eval()
        return self.module(images)


def _sizes(crop, maps, keypoints) -> str:
    return f"{crop[0]}x{crop[1]} crops and gives {keypoints} heatmaps of {maps[0]}x{maps[1]}"
