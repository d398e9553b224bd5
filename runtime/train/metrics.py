"""`RUN/metrics.jsonl`: one JSON object per finished epoch, appended.

A line (keys in this order): epoch (1-based), epochs, lr, loss (mean training
loss), images (training crops seen), images_per_s (training throughput, data
loading included), train_seconds, val_seconds, seconds (training and validation,
before the checkpoint), the ten COCO numbers AP ... ARl (null in epochs without
validation, see `val_every`), best_AP and best_epoch.

Why the resume rule: the line of an epoch is appended after its checkpoint
is committed, so a kill can leave the file one line short of `last.json`, never
a line ahead (and a torn last line at worst). On resume
`sync` keeps the lines of committed epochs only and restores the committed
epoch's line from the checkpoint when the kill came before it was appended.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from archc.kernel.files import write_atomic

METRICS = "metrics.jsonl"


def _clean(value: Any) -> Any:
    """NaN/inf are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(record: dict[str, Any]) -> str:
    return json.dumps({k: _clean(v) for k, v in record.items()}, allow_nan=False)


def append(run_dir: Path, record: dict[str, Any]) -> None:
    with (run_dir / METRICS).open("a", encoding="utf-8") as f:
        f.write(dumps(record) + "\n")


def read(run_dir: Path) -> list[dict[str, Any]]:
    """The complete lines of the metrics file (a torn last line is ignored)."""
    path = run_dir / METRICS
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    return records


def sync(run_dir: Path, epoch: int, record: dict[str, Any] | None) -> None:
    """Rewrite the file to hold exactly the lines of epochs 1..`epoch`, restoring
    `record` (epoch `epoch`'s line from the checkpoint) when it is missing."""
    records = [r for r in read(run_dir) if r.get("epoch", 0) <= epoch]
    if record is not None and not any(r.get("epoch") == epoch for r in records):
        records.append(record)
    write_atomic(run_dir / METRICS, "".join(dumps(r) + "\n" for r in records))
