"""The torch side of a search, set up once: the supernet with its weights, the cached
calibration crops and validation batches, the evaluator, and the cost function.

Built after every cheap check has passed (one_shot.py), and once per process:
a Ray actor (scale-out) builds its own session and evaluates the configs the
driver sends it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from archc.runtime.search.evaluate import CachedSplit, SharedWeightEvaluator, cache_split
from archc.runtime.search.strategies import SearchError


def geometry_of_space(space: Any):
    """The data geometry of a pose space: the input and heatmap sizes of its largest
    subnet (every subnet of a pose space shares them); of a temporal space, one
    frame's, with T (`temporal.contract`)."""
    from archc.runtime.temporal.contract import is_temporal, temporal_contract
    from archc.runtime.train import TrainError, geometry_of

    try:
        if is_temporal(space):
            return temporal_contract(space).geometry
        return geometry_of(space.derive(space.largest()) if space.choices else space)
    except TrainError as err:
        raise SearchError(str(err)) from None


def temporal_modules(space: Any, supernet: torch.nn.Module, key_net: Any, calibration: list):
    """(modules, contract, calibration batches) of a temporal search: `modules(config)`
    derives the config's net (frames sharing weights but choosing differently get their
    own BatchNorms, as deployed; the supernet has one for all) and gives its clip
    model (key net + propagation, scored online) and its propagation (recalibrated on
    the key maps and frames of the training clips)."""
    from archc.runtime.temporal.clip_model import ClipModel, Propagation, recalibration_batches
    from archc.runtime.temporal.contract import temporal_contract

    contract = temporal_contract(space)
    batches = recalibration_batches(key_net, calibration)

    def modules(config: Any) -> tuple[torch.nn.Module, torch.nn.Module]:
        device = next(supernet.parameters()).device
        propagation = Propagation(supernet.derive(config).to(device), contract)
        return ClipModel(key_net, propagation), propagation

    return modules, contract, batches


@dataclass
class EvaluationSession:
    space: Any
    supernet: torch.nn.Module
    calibration: list[torch.Tensor]
    val: CachedSplit
    evaluator: SharedWeightEvaluator
    contract: Any = None  # of a temporal search (`temporal.contract.TemporalContract`)

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """What the calibration batches run through for a derived `module` (`best/`)."""
        if self.contract is None:
            return module
        from archc.runtime.temporal.clip_model import Propagation

        return Propagation(module, self.contract)

    @classmethod
    def open(
        cls,
        space: Any,
        weights: str | os.PathLike,
        data: str | os.PathLike,
        options: Any,
        realise: Mapping[str, str] | None = None,
        key_net: Any = None,
    ) -> EvaluationSession:
        """The session of `space`; a temporal space needs its fixed `key_net`
        (`temporal.keynet.KeyNet`) and video data."""
        from archc.runtime.train import TrainConfig, TrainError
        from archc.runtime.train.data import calibration_batches, find_split, load_split
        from archc.runtime.train.device import select_device
        from archc.runtime.weights import WeightsError, load_weights
        from archc.torch import build_supernet

        try:
            device = select_device(options.device)
        except TrainError as err:
            raise SearchError(str(err)) from None
        if options.threads:
            torch.set_num_threads(options.threads)
        supernet = build_supernet(space, realise)
        try:
            load_weights(supernet, weights)
        except WeightsError as err:
            raise SearchError(f"the supernet does not fit `{space.name}`: {err}") from None
        supernet.to(device)
        geometry = geometry_of_space(space)
        config = TrainConfig(data=str(data), batch=options.eval_batch, seed=options.seed)
        try:
            val = load_split(
                find_split(data, "val"), geometry, config, train=False, limit=options.val_images
            )
            train = load_split(find_split(data, "train"), geometry, config, train=False, limit=None)
        except TrainError as err:
            raise SearchError(str(err)) from None
        cached = cache_split(val, options.eval_batch, device)
        calibration = calibration_batches(
            train, options.calibration, options.eval_batch, options.seed, device
        )
        modules = contract = None
        if key_net is not None:
            key_net.to(device)
            modules, contract, calibration = temporal_modules(space, supernet, key_net, calibration)
        evaluator = SharedWeightEvaluator(
            supernet, calibration, cached, options.flip, options.objective, modules=modules
        )
        return cls(space, supernet, calibration, cached, evaluator, contract)

    def costs(self, lut: str | os.PathLike | None = None):
        """configs -> {params, macs, latency_ms} lists, exact (`Space.cost_many`)."""
        table = None
        if lut is not None:
            from archc.compiler.cost.latency_table import as_table

            table = as_table(lut)

        def costs(configs: Sequence[Mapping[str, Any]]) -> dict[str, list | None]:
            batch = self.space.cost_many(configs, lut=table)
            return {
                "params": batch.params.tolist(),
                "macs": batch.macs.tolist(),
                "latency_ms": None if batch.latency_ms is None else batch.latency_ms.tolist(),
            }

        return costs
