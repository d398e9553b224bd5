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
    """Float maps of a batch, averaged with the flipped-back mirror ones: (N, K, h, w)
    for crops (N, 3, H, W), (B, F, K, h, w) for clips (B, F, 3, H, W) through a
    clip model (the whole clip is mirrored, so propagation sees a mirrored video)."""
    with torch.autocast(images.device.type, dtype=torch.float16, enabled=amp):
        maps = model(images).float().cpu().numpy()
        if flip_index is None:
            return maps
        mirrored = model(torch.flip(images, dims=[-1])).float().cpu().numpy()
    return flip_average(maps, mirrored, flip_index)


def flip_average(maps: np.ndarray, mirrored: np.ndarray, flip_index) -> np.ndarray:
    """The flip test's average, for maps (N, K, h, w) or clip maps (B, F, K, h, w)."""
    flat = mirrored.reshape(-1, *mirrored.shape[-3:])
    return 0.5 * (maps + flip_back(flat, list(flip_index)).reshape(mirrored.shape))


def batch_results(maps: np.ndarray, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """COCO result records of one batch's maps: crops (N, K, h, w) with per-person meta,
    or clips (B, F, K, h, w) with per-frame meta (`pose.video`), frame by frame."""
    rotation = np.asarray(meta["rotation"])
    if maps.ndim == 5:
        frames = maps.shape[1]
        maps = maps.reshape(-1, *maps.shape[2:])
        rotation = np.repeat(rotation, frames)
    center = np.asarray(meta["center"]).reshape(-1, 2)
    scale = np.asarray(meta["scale"]).reshape(-1, 2)
    keypoints, scores = decode_heatmaps(maps, center, scale, rotation)
    image_ids = np.asarray(meta["image_id"]).reshape(-1).tolist()
    box_scores = np.asarray(meta["score"]).reshape(-1).tolist()
    return coco_results(keypoints, scores, image_ids, box_scores)


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
    """COCO keypoint result records of every person of `data`, in order (of a video
    split: every frame of every clip, `model` being a clip model)."""
    model.eval()
    flip_index = data.dataset.spec.flip_index if flip else None
    loader = eval_loader(data, batch, workers, pin=device.type == "cuda")
    results: list[dict[str, Any]] = []
    for images, _target, _weight, meta in progress(loader, len(loader), "validate"):
        maps = heatmaps(model, images.to(device, non_blocking=True), flip_index, amp)
        results += batch_results(maps, meta)
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
