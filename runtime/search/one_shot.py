"""`run_search`: the one-shot search of a trained supernet (ViPNAS 3.4.1, BigNAS),
from limits to `best/`.

Order matters, for the user's time: the limits are checked first (an
unreachable budget fails in a second, before anything is loaded), then the
strategy's options, then the folder (a resume must be the same search:
`manifest.py`), then the supernet and the data, and only then the trials.
Everything a search writes lives in its folder (docs/search.md):
manifest.json, trials.jsonl, front.json, best.json, pareto.png, best/.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archc.runtime.lock import RunInUse, RunLock
from archc.runtime.search import manifest, outputs
from archc.runtime.search.limits import feasibility, search_limits
from archc.runtime.search.strategies import SearchError, make_strategy
from archc.runtime.search.tied import TiedFeasibility, frame_copies
from archc.runtime.search.trial_log import TRIALS, TrialLog
from archc.runtime.search.trials import run_trials

COSTS = ("macs", "params", "latency_ms")


@dataclass(frozen=True)
class SearchOptions:
    """Every option of a one-shot search (saved in the manifest; see docs/search.md)."""

    strategy: str = "evolution"
    evaluations: int = 100
    seed: int = 0
    batch: int = 8  # configs proposed (and evaluated) per strategy step
    max_macs: float | None = None
    max_params: float | None = None
    max_latency: float | None = None
    cost: str = "macs"  # the cost axis of the front and of nsga2
    objective: str = "AP"  # AP, or loss (score = -heatmap loss)
    calibration: int = 256  # R: training crops for BatchNorm recalibration
    val_images: int | None = None  # V: validation images (None: all)
    eval_batch: int = 32
    flip: bool = True
    population: int = 32
    tournament: int = 8
    mutation_prob: float | None = None
    crossover_prob: float = 0.0
    export: bool = True
    threads: int | None = None
    device: str = "auto"
    workers: int = 1  # Ray actors evaluating (1: in this process, no Ray)
    ray_address: str | None = None  # a running Ray cluster (None: a local runtime)
    tie_frames: bool = False  # every frame takes frame 1's choices (runtime/search/tied.py)

    def __post_init__(self) -> None:
        for problem in self._problems():
            raise SearchError(problem)

    def _problems(self):
        for name in ("evaluations", "batch", "calibration", "eval_batch", "workers"):
            if getattr(self, name) < 1:
                yield f"{name} must be >= 1, got {getattr(self, name)}"
        for name in ("val_images", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                yield f"{name} must be >= 1, got {value}"
        for name in ("max_macs", "max_params", "max_latency"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                yield f"{name} must be > 0, got {value}"
        if self.cost not in COSTS:
            yield f"cost must be one of {', '.join(COSTS)}, got {self.cost!r}"
        if self.objective not in ("AP", "loss"):
            yield f"objective must be AP or loss, got {self.objective!r}"

    def strategy_options(self) -> dict[str, Any]:
        if self.strategy == "evolution":
            return {
                "population": self.population,
                "tournament": self.tournament,
                "mutation_prob": self.mutation_prob,
                "crossover_prob": self.crossover_prob,
            }
        if self.strategy == "nsga2":
            cost = "latency_ms" if self.cost == "latency_ms" else self.cost
            return {
                "population": self.population,
                "cost": cost,
                "mutation_prob": self.mutation_prob,
            }
        return {}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class SearchResult:
    folder: Path
    records: list[dict[str, Any]]
    best: dict[str, Any] | None
    outputs: dict[str, Any]


def run_search(
    space: Any,
    out: str | os.PathLike,
    options: SearchOptions,
    *,
    supernet: str | os.PathLike,
    data: str | os.PathLike,
    sources: Mapping[str, str],
    lut: str | os.PathLike | None = None,
    realise: Mapping[str, str] | None = None,
    defines: list[str] | None = None,
    resume: bool = False,
    key_net: Any = None,
    on_trial: Callable[[dict[str, Any], bool], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> SearchResult:
    """Search `space` with the weights of `supernet` (a safetensors file, or a run folder
    of `archc supernet train`) on `data`; see the module docstring for the order. A
    temporal space is searched with its fixed `key_net` (`temporal.keynet.KeyNet`) on
    video data, every config scored online over the validation clips, all frames."""
    phase = on_phase or (lambda _text: None)
    limits = search_limits(space, options.max_macs, options.max_params, options.max_latency, lut)
    if options.cost == "latency_ms" and lut is None:
        raise SearchError("--cost latency_ms needs --lut TABLE (a latency table: `archc lut`)")
    feasible = feasibility(space, limits, lut)
    if options.tie_frames:
        feasible = TiedFeasibility(feasible, frame_copies(space))
    strategy = make_strategy(
        options.strategy, space, feasible, options.seed, **options.strategy_options()
    )
    weights = supernet_weights(supernet)
    inputs = {"supernet": weights, **({"latency table": lut} if lut is not None else {})}
    if key_net is not None:
        inputs["key net"] = key_net.record["weights"]
    doc = manifest.make_manifest(
        "one-shot",
        {**options.to_dict(), "realise": dict(realise or {}), "defines": list(defines or [])},
        sources,
        inputs,
    )
    folder = Path(out)
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    lock = open_folder(folder, doc, resume)
    try:
        phase(f"loading the supernet {weights} and the data {data}")
        from archc.runtime.search.session import EvaluationSession

        try:
            session = EvaluationSession.open(space, weights, data, options, realise, key_net)
        except BaseException:
            if not resume:  # a search that never started leaves nothing behind
                lock.release()
                lock.path.unlink(missing_ok=True)
                for made in created:  # deepest first
                    made.rmdir()
            raise
        if not resume:
            manifest.write(folder, doc)
        pool = _ray_pool(options, space, weights, data, realise, key_net, phase)
        phase(f"searching: {options.evaluations} evaluations, strategy {options.strategy}")
        log = TrialLog(folder)
        try:
            records = run_trials(
                strategy,
                log,
                options.evaluations,
                pool or session.evaluator,
                session.costs(lut),
                options.batch,
                on_trial,
            )
        finally:
            if pool is not None:
                pool.close()
        phase("writing the front, the best config and best/")
        budget = options.max_macs if options.cost == "macs" else None
        best = outputs.write_summaries(
            folder, records, space.name, options.cost, budget, options.objective
        )
        written = {}
        if best is not None and options.export:
            written = outputs.write_best(
                folder, space, session.supernet, best["config"], session.calibration, session.wrap
            )
        return SearchResult(folder, records, best, written)
    finally:
        lock.release()


def _ray_pool(options, space, weights, data, realise, key_net, phase):
    """Ray actors for the evaluations (`--workers N > 1` or `--ray-address`), else None.
    The driver's own session has checked the supernet and the data already."""
    if options.workers == 1 and options.ray_address is None:
        return None
    from archc.runtime.search.ray_pool import RayEvaluator

    where = options.ray_address or "a local Ray runtime"
    phase(f"starting {options.workers} evaluation workers on {where}")
    args = {
        "space": space,
        "weights": Path(weights).resolve(),
        "data": Path(data).resolve(),
        "options": options,
        "realise": realise,
        "key_net": key_net,
    }
    threads = options.threads or 1
    return RayEvaluator(options.workers, args, threads=threads, address=options.ray_address)


def supernet_weights(path: str | os.PathLike) -> Path:
    """The weights file of `path`: itself, or RUN/last.safetensors of a supernet run."""
    target = Path(path)
    if target.is_dir():
        target = target / "last.safetensors"
    if not target.is_file():
        raise SearchError(
            f"{path}: no supernet weights there (give a .safetensors file or the folder of "
            "`archc supernet train`)"
        )
    return target


def open_folder(folder: Path, doc: dict[str, Any], resume: bool) -> RunLock:
    """Create and lock the search folder; a new search needs it empty, a resume needs
    the same search (`manifest.differences`)."""
    if folder.exists() and not folder.is_dir():
        raise SearchError(f"{folder} is a file, not a search folder; give another --out")
    if resume and not (folder / manifest.MANIFEST).is_file():
        raise SearchError(f"{folder}: no search to resume (no {manifest.MANIFEST})")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SearchError(f"cannot write the search folder {folder}: {err.strerror}") from None
    lock = RunLock(folder)
    try:
        lock.acquire()
    except RunInUse as err:
        raise SearchError(str(err)) from None
    try:
        _check_folder(folder, doc, resume)
    except BaseException:
        lock.release()
        raise
    return lock


def _check_folder(folder: Path, doc: dict[str, Any], resume: bool) -> None:
    if resume:
        changed = manifest.differences(manifest.read(folder), doc)
        if changed:
            raise SearchError(
                f"{folder}: --resume continues the same search; " + "; ".join(changed)
            )
        return
    others = [p.name for p in folder.iterdir() if p.name != ".lock"]
    if others:
        what = "another search" if manifest.MANIFEST in others or TRIALS in others else "files"
        raise SearchError(
            f"{folder} holds {what} ({', '.join(sorted(others)[:3])}); continue it with "
            "--resume, or give an empty --out"
        )
