"""What a run folder holds, read once: the facts a report shows, whatever wrote the folder.

Every archc run folder is one of two shapes, or both:

- a *search* folder (`manifest.json` of format `archc-search-run`): trials.jsonl,
  front.json, best.json, pareto.png, best/ (docs/search.md);
- a *training* folder (`config.json` of format `archc-train-config` under "config"):
  metrics.jsonl, last/best weights; `archc train`, `archc supernet train` and a
  differentiable or policy search write one (the latter two are both shapes at once).

Reading never fails on a file that is merely missing (a search killed before its first
summary still has a manifest and a trial log): the report shows what is there and says
what is not. A file that is there but damaged is a `ReportError` naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEARCH_FORMAT, TRAIN_FORMAT = "archc-search-run", "archc-train-config"
PICTURES = ("pareto.png", "alphas.png", "controller.png")  # written by the drivers


class ReportError(ValueError):
    """The folder is not a run folder, or one of its files is damaged; the message says which."""


@dataclass(frozen=True)
class RunFolder:
    """The contents of a run folder that a report shows (None or empty where absent)."""

    path: Path
    manifest: dict[str, Any] | None  # a search's manifest.json
    train_config: dict[str, Any] | None  # a training run's config.json
    trials: list[dict[str, Any]] = field(default_factory=list)
    front: dict[str, Any] | None = None
    best: dict[str, Any] | None = None
    best_config: dict[str, Any] | None = None  # best/config.json
    metrics: list[dict[str, Any]] = field(default_factory=list)
    pictures: dict[str, Path] = field(default_factory=dict)  # name -> PNG or SVG file
    supernet: RunFolder | None = None  # the supernet run a one-shot search read

    @property
    def kind(self) -> str:
        """`one-shot search`, `training`, `supernet training`, ... (for the title)."""
        if self.manifest is not None:
            return f"{self.manifest.get('kind', 'unknown')} search"
        net = (self.train_config or {}).get("net", {})
        if "sandwich" in net:
            return "supernet training"
        return "search" if self.best is not None else "training"

    @property
    def name(self) -> str:
        if self.front is not None and self.front.get("space"):
            return str(self.front["space"])
        if self.best is not None and self.best.get("space"):
            return str(self.best["space"])
        net = (self.train_config or {}).get("net", {})
        return str(net.get("name") or self.path.name)

    @property
    def cost(self) -> str:
        """The cost the search ranked by (`macs`, `params` or `latency_ms`)."""
        if self.front is not None and self.front.get("cost"):
            return str(self.front["cost"])
        options = (self.manifest or {}).get("options", {})
        return str(options.get("cost") or "macs")

    @property
    def objective(self) -> str:
        """What the search's score is: `AP`, or `loss` (the score is minus the loss)."""
        options = (self.manifest or {}).get("options", {})
        return str(options.get("objective") or "AP")

    @property
    def space_file(self) -> Path | None:
        """The `.arch` file of the run, where the folder records it."""
        net = (self.train_config or {}).get("net", {})
        options = (self.manifest or {}).get("options", {})
        recorded = net.get("file") or options.get("file")
        if not recorded and self.supernet is not None:
            return self.supernet.space_file
        return Path(recorded) if recorded else None

    @property
    def best_choices(self) -> dict[str, Any] | None:
        """The found subnet's choices: best/config.json, else the best trial's config."""
        if self.best_config is not None and isinstance(self.best_config.get("choices"), dict):
            return self.best_config["choices"]
        best = (self.best or {}).get("best")
        config = best.get("config") if isinstance(best, dict) else None
        return config if isinstance(config, dict) else None

    @property
    def defines(self) -> list[str]:
        net = (self.train_config or {}).get("net", {})
        options = (self.manifest or {}).get("options", {})
        return list(net.get("defines") or options.get("defines") or [])


def read_run(path: str | Path) -> RunFolder:
    """Read the run folder at `path`; a ReportError when it is not one."""
    folder = Path(path)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder")
    manifest = _json(folder / "manifest.json")
    if manifest is not None and manifest.get("format") != SEARCH_FORMAT:
        raise ReportError(f"{folder / 'manifest.json'}: not an archc search manifest")
    train_config = _json(folder / "config.json")
    if (
        train_config is not None
        and (train_config.get("config") or {}).get("format") != TRAIN_FORMAT
    ):
        train_config = None  # a config.json of something else (e.g. best/config.json copied)
    if manifest is None and train_config is None:
        raise ReportError(
            f"{folder}: not an archc run folder (neither manifest.json of a search nor "
            "config.json of a training run is there)"
        )
    best_dir = folder / "best"
    return RunFolder(
        path=folder,
        manifest=manifest,
        train_config=train_config,
        trials=_trials(folder),
        front=_json(folder / "front.json"),
        best=_json(folder / "best.json"),
        best_config=_json(best_dir / "config.json"),
        metrics=_jsonl(folder / "metrics.jsonl"),
        pictures=_pictures(folder),
        supernet=_supernet(manifest),
    )


def _json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportError(f"{path}: unreadable ({err})") from None
    if not isinstance(doc, dict):
        raise ReportError(f"{path}: expected a JSON object")
    return doc


def _jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete lines of a JSON-lines log; a line torn by a kill ends the list.

    The rule of `archc.runtime.train.metrics.read`, which cannot be imported here: its
    package loads torch, and a report needs none."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            break
        if isinstance(record, dict):
            records.append(record)
    return records


def _trials(folder: Path) -> list[dict[str, Any]]:
    from archc.runtime.search import trial_log
    from archc.runtime.search.strategies.base import SearchError

    path = folder / trial_log.TRIALS
    if not path.is_file():
        return []
    try:
        return trial_log.read(path)
    except SearchError as err:
        raise ReportError(str(err)) from None


def _pictures(folder: Path) -> dict[str, Path]:
    found = {name: folder / name for name in PICTURES if (folder / name).is_file()}
    subnet = folder / "best" / "subnet.svg"
    if subnet.is_file():
        found["subnet.svg"] = subnet
    return found


def _supernet(manifest: dict[str, Any] | None) -> RunFolder | None:
    """The supernet's training run of a one-shot search, when its folder is still there."""
    recorded = ((manifest or {}).get("inputs") or {}).get("supernet") or {}
    weights = Path(recorded["path"]) if recorded.get("path") else None
    if weights is None:
        return None
    folder = weights if weights.is_dir() else weights.parent
    if not (folder / "config.json").is_file():
        return None
    try:
        return read_run(folder)
    except ReportError:
        return None
