"""`trials.jsonl`: one JSON line per evaluated config, appended as each one finishes.

Why a line at a time, flushed and fsynced: the log is what a resumed search
replays (strategies are deterministic in their seed and the results told,
strategies/base.py), so everything evaluated before a `kill -9` must be on
disk, and an evaluation costs far more than an fsync. A kill can tear the
last line; reading recovers from that (the torn line is dropped and
rewritten by the resumed run). A damaged line anywhere else is an error
naming the line, never silently skipped.

A line (keys in this order): index (0-based), step (the strategy's batch),
config, key (the architecture's hash, `config_key`), params, macs,
latency_ms (null without a latency table), score (what the strategy
maximises), AP, AP50, loss, R and V (recalibration and validation images),
seconds (wall time of the evaluation, the only field that differs between
an interrupted and an uninterrupted run), repeat_of (the index of an earlier
trial of the same architecture, whose results were reused; else null).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from archc.runtime.search.strategies.base import SearchError

TRIALS = "trials.jsonl"
FIELDS = (
    "index",
    "step",
    "config",
    "key",
    "params",
    "macs",
    "latency_ms",
    "score",
    "AP",
    "AP50",
    "loss",
    "R",
    "V",
    "seconds",
    "repeat_of",
)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(record: dict[str, Any]) -> str:
    missing = [k for k in FIELDS if k not in record]
    if missing:
        raise ValueError(f"a trial record lacks {missing}")
    return json.dumps({k: _clean(record[k]) for k in FIELDS}, allow_nan=False)


class TrialLog:
    """The trials of one search folder: read once on open, appended to after."""

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / TRIALS
        self.records = read(self.path)

    def __len__(self) -> int:
        return len(self.records)

    def append(self, record: dict[str, Any]) -> None:
        if record["index"] != len(self.records):
            raise ValueError(f"trial {record['index']} appended after {len(self.records)}")
        line = dumps(record) + "\n"
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self.records.append(json.loads(line))


def read(path: Path) -> list[dict[str, Any]]:
    """The complete records of a trial log. Every line is written with its newline in
    one call, so a last line without one was torn by a kill: it is cut off the file (the
    resumed run evaluates that config again). Any other damaged line is a `SearchError`
    naming it."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    complete = data.rfind(b"\n") + 1
    records = []
    for number, raw in enumerate(data[:complete].split(b"\n")[:-1], start=1):
        record = _parse(raw, path, number)
        if record.get("index") != len(records):
            raise SearchError(
                f"{path}:{number}: trial index {record.get('index')!r}, expected {len(records)}"
            )
        records.append(record)
    if complete < len(data):
        with path.open("r+b") as f:  # drop the torn tail, so appends start on a new line
            f.truncate(complete)
    return records


def _parse(raw: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except ValueError:
        raise SearchError(
            f"{path}:{number}: not a JSON trial record; the log is damaged (remove that "
            "line and the ones after it to resume from the trials before it)"
        ) from None
    if not isinstance(record, dict) or any(k not in record for k in FIELDS):
        raise SearchError(f"{path}:{number}: not an archc trial record")
    return record
