"""Builders for the temporal tests: the example temporal space at T = 2 (64 x 48
frames, 16 x 12 heatmaps: a step takes a fraction of a second), a synthetic video
set of a few short sequences, and a key net trained for one epoch."""

from __future__ import annotations

from pathlib import Path

import archc
from archc.cli.main import main as cli
from archc.runtime.pose.synth import synthesize

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SPACE = EXAMPLES / "spaces" / "tiny_temporal.arch"
KEY_NET = EXAMPLES / "nets" / "tiny_key.arch"
T2 = ["-D", "T=2", "-D", "BUDGET=9M"]  # at T = 2 the largest is 12.1M MACs: 9M binds


def temporal_space(t: int = 2):
    return archc.load(SPACE, defines={"T": t, "BUDGET": 9_000_000 * t // 2})


def make_videos(root: Path, train: int = 6, val: int = 2, frames: int = 6) -> Path:
    """root/annotations + root/images: `train` and `val` sequences of `frames` frames."""
    synthesize(root, train, val, size=(96, 128), seed=0, video=frames, workers=1)
    return root


def train_key_net(work: Path, data: Path, out: str = "key") -> Path:
    """An `archc train` run of the tiny key net (one epoch): a --key-net folder."""
    args = ["--epochs", "1", "--batch", "8", "--workers", "0", "--out", str(work / out)]
    code = cli(["train", str(KEY_NET), "--data", str(data), *args])
    assert code == 0
    return work / out
