"""onnxruntime sessions and latency measurement on this CPU."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import onnxruntime as ort


@lru_cache(maxsize=8)
def _session(data: bytes, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def session(data: bytes, threads: int = 1) -> ort.InferenceSession:
    """A CPU session of a serialised model (cached: the same bytes get the same session)."""
    return _session(data, threads)


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p90_ms: float
    runs: int

    def __str__(self) -> str:
        return f"median {self.median_ms:.2f} ms, p90 {self.p90_ms:.2f} ms ({self.runs} runs)"


def summarise(seconds: list[float]) -> Timing:
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return Timing(statistics.median(ms), p90, len(ms))


def time_calls(call, runs: int, warmup: int) -> Timing:
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return summarise(seconds)


def ort_latency(
    data: bytes,
    shapes: dict[str, tuple[int, ...]],
    threads: int = 1,
    runs: int = 50,
    warmup: int = 5,
    seed: int = 0,
) -> Timing:
    """Latency of one forward of the model in onnxruntime with `threads` threads."""
    rng = np.random.default_rng(seed)
    feeds = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    sess = session(data, threads)
    return time_calls(lambda: sess.run(None, feeds), runs, warmup)
