"""Online video inference: the key net on each key frame, the found propagation net on
the T frames after it, one clip at a time, as deployed (ViPNAS 3.1, 4.4).

Why one clip at a time and a stopwatch around the nets only: a deployed tracker
sees one frame after another, so batch 1 is the honest speed, and reading and
cropping JPEGs is the same for any net. Each clip is also run through the key
net alone on every frame, the baseline a temporal net must beat (ViPNAS
reports T-ViPNAS at 41 frames/s on one CPU core). Both engines take the same
route: torch modules, or the ONNX files run by onnxruntime.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from archc.runtime.pose.evaluate import coco_keypoint_eval
from archc.runtime.train.data import SplitData, eval_loader
from archc.runtime.train.validate import batch_results

KeyFn = Callable[[torch.Tensor], torch.Tensor]  # (1, 3, H, W) -> (1, K, h, w)
PropagationFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # -> (1, T, K, h, w)


@dataclass(frozen=True)
class VideoRun:
    """What an online run measured: results, frames, and the nets' seconds."""

    results: list[dict[str, Any]]
    clips: int
    frames: int
    seconds: float  # key net on key frames + propagation on the others
    key_only_seconds: float  # the key net on every frame

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-12)

    @property
    def key_only_fps(self) -> float:
        return self.frames / max(self.key_only_seconds, 1e-12)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    begin = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - begin


@torch.no_grad()
def run_online(
    key: KeyFn,
    propagation: PropagationFn,
    data: SplitData,
    progress: Callable[[Iterable, int, str], Iterable] = lambda x, n, d: x,
) -> VideoRun:
    """Every clip of `data` (a video split, key-frame schedule) at batch 1."""
    results, seconds, key_only, frames = [], 0.0, 0.0, 0
    loader = eval_loader(data, 1, 0, pin=False)
    for clips, _target, _weight, meta in progress(loader, len(loader), "video"):
        (key_maps, maps), spent = _timed(lambda c=clips: _clip(key, propagation, c))
        _, alone = _timed(lambda c=clips: [key(c[:, t]) for t in range(c.shape[1])])
        seconds, key_only, frames = seconds + spent, key_only + alone, frames + clips.shape[1]
        both = torch.cat([torch.as_tensor(key_maps).unsqueeze(1), torch.as_tensor(maps)], dim=1)
        results += batch_results(both.float().numpy(), meta)
    return VideoRun(results, len(loader), frames, seconds, key_only)


def _clip(key: KeyFn, propagation: PropagationFn, clips: torch.Tensor):
    key_maps = key(clips[:, 0])
    return key_maps, propagation(key_maps, clips[:, 1:])


def score(run: VideoRun, data: SplitData) -> dict[str, float]:
    """COCO OKS AP/AR of the run's results over every frame it predicted."""
    return coco_keypoint_eval(data.ground_truth, run.results, sigmas=data.dataset.spec.sigmas)


def onnx_functions(key_path: str, net_path: str, contract: Any, threads: int):
    """(key, propagation) functions that run two ONNX files with onnxruntime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    providers = ["CPUExecutionProvider"]
    key_session = ort.InferenceSession(key_path, options, providers=providers)
    net_session = ort.InferenceSession(net_path, options, providers=providers)
    key_input = key_session.get_inputs()[0].name
    out_index = {o.name: i for i, o in enumerate(net_session.get_outputs())}

    def key(images: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(key_session.run(None, {key_input: images.numpy()})[0])

    def propagation(key_maps: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        feed = {n: t.numpy() for n, t in contract.inputs(key_maps, frames).items()}
        outs = net_session.run(None, feed)
        return torch.from_numpy(np.stack([outs[out_index[n]] for n in contract.outputs], axis=1))

    return key, propagation
