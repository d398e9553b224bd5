"""The search loop: ask a strategy, evaluate, log, tell -- and resume by replaying the log.

This part knows nothing of torch or of pose: an evaluation is any function
from configs to measurements (shared-weight validation AP in `archc search`,
Ray actors in a cluster, a synthetic objective in the tests), so one loop
serves every strategy and every way of evaluating.

Resume: the strategy is rebuilt from its seed and asked again; where the log
already holds a trial at that index, its config must be the one proposed
(else the log belongs to another search and the run stops, naming the
trial) and its logged results are told instead of evaluating again. A
search killed at any moment thus continues to the trial log an
uninterrupted run writes (wall times aside).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from archc.compiler.space.config import Config
from archc.runtime.search.strategies.base import SearchError, Strategy, Trial, config_key
from archc.runtime.search.trial_log import TrialLog

# configs -> one measurement dict per config, yielded in order as each finishes:
# {"score": float, "AP": ..., "AP50": ..., "loss": ..., "R": int, "V": int}
Evaluate = Callable[[Sequence[Config]], Iterator[Mapping[str, Any]]]
# configs -> {"params": [...], "macs": [...], "latency_ms": [...] or None}
Costs = Callable[[Sequence[Config]], Mapping[str, Sequence[Any] | None]]
MEASURED = ("score", "AP", "AP50", "loss", "R", "V")


def run_trials(
    strategy: Strategy,
    log: TrialLog,
    evaluations: int,
    evaluate: Evaluate,
    costs: Costs,
    batch: int = 8,
    on_trial: Callable[[dict[str, Any], bool], None] | None = None,
    stop: Callable[[Sequence[dict[str, Any]]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Run until the log holds `evaluations` trials, or `stop(records so far)` says so
    before a batch (a budget: a function of the log, so a replay stops alike); returns
    every record.

    `on_trial(record, replayed)` sees each trial, replayed ones included.
    """
    if batch < 1:
        raise SearchError(f"the proposal batch must be >= 1, got {batch}")
    done, step = 0, 0
    seen: dict[str, int] = {}
    while done < evaluations and not (stop is not None and stop(log.records[:done])):
        configs = strategy.ask(min(batch, evaluations - done))
        if not configs:
            raise SearchError(f"strategy `{strategy.name}` proposed nothing at trial {done}")
        records = _batch(strategy, log, configs, done, step, evaluate, costs, seen, on_trial)
        strategy.tell([_trial(config, r) for config, r in zip(configs, records, strict=True)])
        done += len(configs)
        step += 1
    return log.records[:done]


def _batch(strategy, log, configs, start, step, evaluate, costs, seen, on_trial) -> list[dict]:
    """The records of one batch: replayed from the log, repeats of earlier trials, or
    evaluated now (in one call, so parallel evaluators see the whole batch)."""
    keys = [config_key(strategy.space, c) for c in configs]
    cost = costs(configs)
    records: list[dict[str, Any] | None] = [None] * len(configs)
    for i, config in enumerate(configs):
        if start + i < len(log):
            records[i] = _replayed(log.records[start + i], config, keys[i], start + i)
            seen.setdefault(keys[i], start + i)
            if on_trial is not None:
                on_trial(records[i], True)
    todo = [i for i, r in enumerate(records) if r is None]
    fresh = [i for i in todo if keys[i] not in seen and keys[i] not in keys[:i]]
    results = evaluate([configs[i] for i in fresh]) if fresh else iter(())
    for i in todo:
        begin = time.perf_counter()
        if i in fresh:
            measured, repeat_of = dict(next(results)), None
        else:
            repeat_of = seen.get(keys[i], start + keys.index(keys[i]))
            measured = {k: log.records[repeat_of][k] for k in MEASURED}
        record = {
            "index": start + i,
            "step": step,
            "config": dict(configs[i]),
            "key": keys[i],
            **{k: _at(cost.get(k), i) for k in ("params", "macs", "latency_ms")},
            **{k: measured.get(k) for k in MEASURED},
            "seconds": time.perf_counter() - begin,
            "repeat_of": repeat_of,
        }
        log.append(record)
        seen.setdefault(keys[i], start + i)
        records[i] = log.records[-1]
        if on_trial is not None:
            on_trial(records[i], False)
    return records  # type: ignore[return-value]


def _at(values: Sequence[Any] | None, i: int) -> Any:
    if values is None:
        return None
    value = values[i]
    return value.item() if hasattr(value, "item") else value


def _replayed(record: dict[str, Any], config: Config, key: str, index: int) -> dict[str, Any]:
    if record["config"] != dict(config):
        raise SearchError(
            f"trial {index} of the log is not what this search proposes now (the log holds "
            f"another search's trials, or archc changed); start a new search folder"
        )
    return record


def _trial(config: Config, record: dict[str, Any]) -> Trial:
    costs = {k: record[k] for k in ("params", "macs", "latency_ms") if record[k] is not None}
    score = record["score"]
    return Trial(config, float("-inf") if score is None else float(score), costs)
