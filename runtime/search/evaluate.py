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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archc.runtime.pose.evaluate import coco_keypoint_eval
from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.recalibrate import kept_bn_statistics, recalibrate_bn
from archc.runtime.train.data import SplitData, eval_loader
from archc.runtime.train.validate import batch_results, flip_average


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
    images = len({int(i) for b in batches for i in b[3]["image_id"].reshape(-1).tolist()})
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
        if out.ndim == 5:  # clips: every frame's maps count as one person's
            out, target, weight = (t.flatten(0, 1) for t in (out, target, weight))
        loss += float(criterion(out, target, weight)) * len(out)
        persons += len(out)
        out = out.reshape(*images.shape[: images.ndim - 3], *out.shape[1:])
        maps = out.cpu().numpy()
        if flip:
            mirrored = model(torch.flip(images, dims=[-1])).float().cpu().numpy()
            maps = flip_average(maps, mirrored, split.flip_index)
        results += batch_results(maps, meta)
    stats = coco_keypoint_eval(split.ground_truth, results, sigmas=split.sigmas)
    return {"AP": stats["AP"], "AP50": stats["AP50"], "loss": loss / max(persons, 1)}


class SharedWeightEvaluator:
    """`evaluator(configs)` yields, per config in order, {score, AP, AP50, loss, R, V,
    seconds}: validation of the subnet with the supernet's weights after BN
    recalibration. `objective` is "AP" (score = AP) or "loss" (score = -loss).

    `modules(config)` gives (what validation runs, what the calibration batches run
    through), both the supernet with `config` active by default; a temporal search
    derives each config, so that frames sharing weights but choosing differently get
    a BatchNorm each, as in the net it deploys, and scores the derived net's clip model
    (`session.temporal_modules`)."""

    def __init__(
        self,
        supernet: nn.Module,
        calibration: Sequence[torch.Tensor | tuple],
        val: CachedSplit,
        flip: bool = True,
        objective: str = "AP",
        *,
        modules: Callable[[Any], tuple[nn.Module, nn.Module]] | None = None,
    ):
        if objective not in ("AP", "loss"):
            raise ValueError(f"objective is AP or loss, got {objective!r}")
        if not calibration:
            raise ValueError("BN recalibration needs at least one batch of training crops")
        self.supernet, self.calibration, self.val = supernet, list(calibration), val
        self.flip, self.objective = flip, objective
        self.modules = modules or (lambda _config: (supernet, supernet))
        self.crops = sum(len(b[0] if isinstance(b, tuple) else b) for b in calibration)

    def __call__(self, configs: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        for config in configs:
            yield self.evaluate(config)

    def evaluate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        begin = time.perf_counter()
        self.supernet.set_active(config)
        scored, recalibrated = self.modules(config)
        with kept_bn_statistics(self.supernet):
            recalibrate_bn(recalibrated, self.calibration)
            stats = validate(scored, self.val, self.flip)
        score = stats["AP"] if self.objective == "AP" else -stats["loss"]
        return {
            **stats,
            "score": score,
            "R": self.crops,
            "V": self.val.images,
            "seconds": time.perf_counter() - begin,
        }


def subnet_after_recalibration(supernet, config, calibration, wrap=None) -> nn.Module:
    """The derived module of `config` with the supernet's weights and BN statistics
    recalibrated on `calibration` (what `best/` holds). `wrap(module)` is what the
    calibration batches run through, where that is not the module itself (a temporal
    net's `Propagation`)."""
    module = supernet.derive(config)
    recalibrate_bn(module if wrap is None else wrap(module), calibration)
    return module.eval()
