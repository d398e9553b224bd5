"""Evaluating subnets with the supernet's shared weights: BN recalibration, then
validation AP, without ever copying the supernet or re-reading the data.

Why recalibrate: the running BatchNorm statistics of a supernet mix every
subnet trained; a subnet evaluated with them scores far below what its
weights can do (BigNAS, ViPNAS). So for each config: activate it, reset and
recompute the BN statistics as the exact average over R training crops,
predict the V validation images (flip test), score with COCO's OKS AP.

Why cache: the R crops and the V validation batches are loaded once, as
tensors, when the evaluator is built; every config reuses them (AlphaNet#11:
host memory grows when the loader is re-iterated per subnet). The supernet's
own BN statistics are restored after each evaluation, so evaluating never
changes the supernet (a training run that validates, or a search, leaves the
weights it was given).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archc.runtime.pose.decode import coco_results, decode_heatmaps, flip_back
from archc.runtime.pose.evaluate import coco_keypoint_eval
from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.recalibrate import kept_bn_statistics, recalibrate_bn
from archc.runtime.train.data import SplitData, eval_loader


@dataclass(frozen=True)
class CachedSplit:
    """Validation batches held in memory: images, targets, weights and decoding meta."""

    batches: tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]], ...]
    ground_truth: dict[str, Any]
    flip_index: tuple[int, ...]
    sigmas: Any
    images: int  # validation images (COCO scores per image)

    @property
    def persons(self) -> int:
        return sum(len(b[0]) for b in self.batches)


def cache_split(data: SplitData, batch: int, device: torch.device) -> CachedSplit:
    """Every person of `data` as tensors on `device`, in file order, unaugmented."""
    batches = []
    for images, target, weight, meta in eval_loader(data, batch, 0, pin=False):
        batches.append((images.to(device), target.to(device), weight.to(device), meta))
    images = len({int(i) for b in batches for i in b[3]["image_id"]})
    spec = data.dataset.spec
    return CachedSplit(
        tuple(batches), data.ground_truth, tuple(spec.flip_index), spec.sigmas, images
    )


@torch.no_grad()
def validate(model: nn.Module, split: CachedSplit, flip: bool = True) -> dict[str, float]:
    """COCO AP/AP50 and the heatmap loss of `model` on cached validation batches."""
    model.eval()
    criterion = JointsMSELoss(use_target_weight=True)
    results, loss, persons = [], 0.0, 0
    for images, target, weight, meta in split.batches:
        out = model(images).float()
        loss += float(criterion(out, target, weight)) * len(images)
        persons += len(images)
        maps = out.cpu().numpy()
        if flip:
            mirrored = model(torch.flip(images, dims=[3])).float().cpu().numpy()
            maps = 0.5 * (maps + flip_back(mirrored, list(split.flip_index)))
        keypoints, scores = decode_heatmaps(maps, meta["center"], meta["scale"], meta["rotation"])
        results += coco_results(
            keypoints, scores, meta["image_id"].tolist(), meta["score"].tolist()
        )
    stats = coco_keypoint_eval(split.ground_truth, results, sigmas=split.sigmas)
    return {"AP": stats["AP"], "AP50": stats["AP50"], "loss": loss / max(persons, 1)}


class SharedWeightEvaluator:
    """`evaluator(configs)` yields, per config in order, {score, AP, AP50, loss, R, V,
    seconds}: validation of the subnet with the supernet's weights after BN
    recalibration. `objective` is "AP" (score = AP) or "loss" (score = -loss)."""

    def __init__(
        self,
        supernet: nn.Module,
        calibration: Sequence[torch.Tensor],
        val: CachedSplit,
        flip: bool = True,
        objective: str = "AP",
    ):
        if objective not in ("AP", "loss"):
            raise ValueError(f"objective is AP or loss, got {objective!r}")
        if not calibration:
            raise ValueError("BN recalibration needs at least one batch of training crops")
        self.supernet, self.calibration, self.val = supernet, list(calibration), val
        self.flip, self.objective = flip, objective
        self.crops = sum(len(b) for b in calibration)

    def __call__(self, configs: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        for config in configs:
            yield self.evaluate(config)

    def evaluate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        begin = time.perf_counter()
        self.supernet.set_active(config)
        with kept_bn_statistics(self.supernet):
            recalibrate_bn(self.supernet, self.calibration)
            stats = validate(self.supernet, self.val, self.flip)
        score = stats["AP"] if self.objective == "AP" else -stats["loss"]
        return {
            **stats,
            "score": score,
            "R": self.crops,
            "V": self.val.images,
            "seconds": time.perf_counter() - begin,
        }


def subnet_after_recalibration(supernet, config, calibration) -> nn.Module:
    """The derived module of `config` with the supernet's weights and BN statistics
    recalibrated on `calibration` (what `best/` holds)."""
    module = supernet.derive(config)
    recalibrate_bn(module, calibration)
    return module.eval()
