"""Validation: heatmaps of every person crop (flip test optional), decoded to
image keypoints, written as COCO results and scored with COCO's OKS AP/AR.

The flip test (SimpleBaseline / HRNet) averages the maps of the crop with the
flipped-back maps of its mirror image. `decode.flip_back` is used with its
default `shift=False`: the pose runtime's continuous pixel coordinates make the
flip exact, so HRNet's one-pixel shift would add a bias (see decode.py).

The same function serves `archc train` (every `val_every` epochs) and
`archc eval`, so a checkpoint evaluated later gives the numbers the run logged
(same crops, same order, same decoding) when the batch size is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archc.runtime.pose.decode import coco_results, decode_heatmaps, flip_back
from archc.runtime.pose.evaluate import KEYPOINT_METRICS, coco_keypoint_eval
from archc.runtime.train.data import SplitData, eval_loader

Progress = Callable[[Iterable, int, str], Iterable]


def _no_progress(items: Iterable, total: int, desc: str) -> Iterable:
    return items


def heatmaps(
    model: torch.nn.Module, images: torch.Tensor, flip_index: list[int] | None, amp: bool
) -> np.ndarray:
    """(N, K, h, w) float maps of a batch, averaged with the flipped-back mirror ones."""
    with torch.autocast(images.device.type, dtype=torch.float16, enabled=amp):
        maps = model(images).float().cpu().numpy()
        if flip_index is None:
            return maps
        mirrored = model(torch.flip(images, dims=[3])).float().cpu().numpy()
    return 0.5 * (maps + flip_back(mirrored, flip_index))


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    data: SplitData,
    *,
    batch: int,
    device: torch.device,
    flip: bool = True,
    amp: bool = False,
    workers: int = 0,
    progress: Progress = _no_progress,
) -> list[dict[str, Any]]:
    """COCO keypoint result records of every person of `data`, in order."""
    model.eval()
    flip_index = data.dataset.spec.flip_index if flip else None
    loader = eval_loader(data, batch, workers, pin=device.type == "cuda")
    results: list[dict[str, Any]] = []
    for images, _target, _weight, meta in progress(loader, len(loader), "validate"):
        maps = heatmaps(model, images.to(device, non_blocking=True), flip_index, amp)
        keypoints, scores = decode_heatmaps(maps, meta["center"], meta["scale"], meta["rotation"])
        results += coco_results(
            keypoints, scores, meta["image_id"].tolist(), meta["score"].tolist()
        )
    return results


def evaluate(
    model: torch.nn.Module,
    data: SplitData,
    *,
    batch: int,
    device: torch.device,
    flip: bool = True,
    amp: bool = False,
    workers: int = 0,
    results_path: str | Path | None = None,
    progress: Progress = _no_progress,
) -> dict[str, float]:
    """The ten COCO keypoint numbers (`evaluate.KEYPOINT_METRICS`) on `data`."""
    results = predict(
        model,
        data,
        batch=batch,
        device=device,
        flip=flip,
        amp=amp,
        workers=workers,
        progress=progress,
    )
    stats = coco_keypoint_eval(
        data.ground_truth, results, results_path=results_path, sigmas=data.dataset.spec.sigmas
    )
    return {k: stats[k] for k in KEYPOINT_METRICS}
