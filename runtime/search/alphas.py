"""`alphas.jsonl` and `alphas.png`: how a differentiable search's architecture moved.

One line per epoch (and one for the start, epoch 0): every mixed choice's
candidate probabilities (softmax, or sigmoid for Fair-DARTS), the Gumbel
temperature, and the argmax config. The file is kept consistent with the
run's checkpoints: a resume first drops lines past the last committed epoch
(`sync`), then writes the restored epoch's line if the kill came before it,
so the log after a resume equals the log of a run never interrupted.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from archc.kernel.files import write_atomic

ALPHAS, ALPHAS_PICTURE = "alphas.jsonl", "alphas.png"
MAX_PANELS = 24  # more choices than this: the first 24 are drawn (the log has them all)


def alpha_record(supernet: Any, epoch: int) -> dict[str, Any]:
    """The line of `epoch`: probabilities per choice and candidate, tau, argmax."""
    with torch.no_grad():
        probs = supernet.mixing_probabilities()
    alphas = {
        choice: {
            str(label): round(float(p), 6) for label, p in zip(labels, probs[choice], strict=True)
        }
        for choice, labels in supernet.labels.items()
    }
    argmax = supernet.argmax_config(supernet.active)
    return {
        "epoch": epoch,
        "tau": supernet.tau,
        "alphas": alphas,
        "argmax": {c: argmax[c] for c in supernet.labels},
    }


class AlphaLog:
    """RUN/alphas.jsonl, rewritten atomically (it is small: one line per epoch)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / ALPHAS

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def sync(self, epochs_done: int, supernet: Any) -> None:
        """Keep the lines of epochs 0..epochs_done, writing the last from `supernet`
        (whose weights are those of epoch `epochs_done`) if it is missing."""
        records = [r for r in self.read() if r["epoch"] <= epochs_done]
        if not records or records[-1]["epoch"] != epochs_done:
            records.append(alpha_record(supernet, epochs_done))
        self._write(records)

    def append(self, supernet: Any, epoch: int) -> dict[str, Any]:
        record = alpha_record(supernet, epoch)
        self._write([r for r in self.read() if r["epoch"] < epoch] + [record])
        return record

    def _write(self, records: Sequence[dict[str, Any]]) -> None:
        write_atomic(self.path, "".join(json.dumps(r) + "\n" for r in records))


def plot(records: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """One panel per choice, one line per candidate: probability against epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    choices = list(records[0]["alphas"])[:MAX_PANELS] if records else []
    cols = min(4, max(len(choices), 1))
    rows = max(1, -(-len(choices) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    epochs = [r["epoch"] for r in records]
    for ax, choice in zip(axes.flat, choices, strict=False):
        for label in records[0]["alphas"][choice]:
            ax.plot(epochs, [r["alphas"][choice][label] for r in records], label=label)
        ax.set_title(choice, fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="best")
    for ax in list(axes.flat)[len(choices) :]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.supxlabel("epoch", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
    return path
