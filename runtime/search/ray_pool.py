"""Shared-weight evaluations on Ray actors (`archc search --workers N`), for a search
that outgrows one process.

Why actors and not tasks: an evaluation needs the supernet with its weights and
the cached calibration and validation batches (`session.EvaluationSession`);
an actor builds that once and then evaluates config after config, as one
process does. The driver hands each idle actor the next config of the batch
and yields the measurements in proposal order, so `trials.jsonl` is the same
for any number of workers (wall times aside), and a resume replays it as
without Ray. An actor that dies (its process killed, its node lost) is
replaced and its config evaluated again by the new one: no trial is lost or
logged twice. Measurements are bit-identical to one process's when every
worker uses the same number of torch threads (`--threads`, default 1 here).

Ray is an optional extra (`pip install 'archc[ray]'`); `archc search` checks for
it before anything starts. Without `--ray-address` a local Ray runtime is
started for the search and stopped after it.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from archc.runtime.search.strategies import SearchError

MAX_RESTARTS = 3  # per config: a config that kills every worker is the search's error


class _Worker:
    """The body of a Ray actor: one evaluation session, built on first use."""

    def __init__(self, session_args: dict[str, Any], threads: int):
        import torch

        torch.set_num_threads(threads)
        self.session_args, self.session = session_args, None

    def open(self) -> bool:
        """Load the supernet and the batches (before the first config, so that start-up
        is not counted as evaluation time and its errors surface at once)."""
        if self.session is None:
            from archc.runtime.search.session import EvaluationSession

            self.session = EvaluationSession.open(**self.session_args)
        return True

    def evaluate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        self.open()
        return self.session.evaluator.evaluate(config)

    def pid(self) -> int:
        return os.getpid()


class RayEvaluator:
    """`evaluator(configs)` like `SharedWeightEvaluator`, on `workers` Ray actors."""

    def __init__(
        self,
        workers: int,
        session_args: dict[str, Any],
        *,
        threads: int = 1,
        address: str | None = None,
        worker: type = _Worker,
    ):
        """`worker(session_args, threads)` is the actor's class (tests give a light one)."""
        import ray

        if workers < 1:
            raise SearchError(f"--workers must be >= 1, got {workers}")
        self.ray, self.started = ray, not ray.is_initialized()
        if self.started:
            try:
                ray.init(
                    address=address,
                    num_cpus=None if address else workers * threads,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level="ERROR",
                )
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise SearchError(
                    f"cannot start or reach Ray ({address or 'local'}): {err}"
                ) from None
        self.remote = ray.remote(num_cpus=threads)(worker)
        self.args, self.threads = ray.put(session_args), threads
        self.actors = [self._actor() for _ in range(workers)]
        self.restarts = 0
        try:
            ray.get([a.open.remote() for a in self.actors])
        except ray.exceptions.RayTaskError as err:
            self.close()
            raise _task_error(err) from None

    def _actor(self) -> Any:
        return self.remote.remote(self.args, self.threads)

    def __call__(self, configs: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        """Measurements in the order of `configs`, each yielded as soon as it and every
        earlier one are done."""
        ray = self.ray
        todo = deque(enumerate(configs))
        running: dict[Any, tuple[int, int]] = {}  # task -> (index in the batch, actor slot)
        done: dict[int, dict[str, Any]] = {}
        tries: dict[int, int] = {}
        idle = deque(range(len(self.actors)))
        following = 0
        while following < len(configs):
            while todo and idle:
                index, config = todo.popleft()
                slot = idle.popleft()
                running[self.actors[slot].evaluate.remote(dict(config))] = (index, slot)
            ready, _ = ray.wait(list(running), num_returns=1)
            index, slot = running.pop(ready[0])
            try:
                done[index] = ray.get(ready[0])
            except ray.exceptions.RayActorError as err:
                tries[index] = tries.get(index, 0) + 1
                if tries[index] > MAX_RESTARTS:
                    last = str(err).strip().splitlines()[-1][:300] if str(err).strip() else "?"
                    raise SearchError(
                        f"config {index} of the batch lost {tries[index]} workers in a row "
                        f"(the last said: {last})"
                    ) from None
                self.actors[slot] = self._actor()  # a fresh worker, the same config again
                self.restarts += 1
                todo.appendleft((index, configs[index]))
            except ray.exceptions.RayTaskError as err:
                raise _task_error(err) from None
            idle.append(slot)
            while following in done:
                yield done.pop(following)
                following += 1

    def pids(self) -> list[int]:
        """The worker processes (tests kill one)."""
        return self.ray.get([a.pid.remote() for a in self.actors])

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.started:
            self.ray.shutdown()


def _task_error(err: Exception) -> Exception:
    """The worker's own exception where it is one of ours (its message is the user's)."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, (SearchError, ValueError)):
        return SearchError(str(cause))
    return SearchError(f"a Ray worker failed: {err}")
