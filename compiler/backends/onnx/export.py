"""`export`: a derived subnet as one self-contained ONNX file, checked and compared.

Steps: choose the config; build the subnet as plain torch modules (weights
copied from a supernet checkpoint when given, else a seeded initialisation);
emit ONNX from the derived IR with those weights; `onnx.checker`; run it in
onnxruntime and in torch on the same random input; write the file atomically
only when they agree within the tolerance. Every user mistake is an
`ExportError` with a complete message, and no partial file is ever left.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from archc.compiler.backends.onnx.builder import DEFAULT_OPSET, state_weights, to_onnx
from archc.compiler.backends.onnx.runner import session
from archc.compiler.backends.torch import build_module, build_supernet
from archc.compiler.ir import input_shapes
from archc.compiler.space import ConfigError
from archc.kernel.files import write_atomic
from archc.runtime.weights import WeightsError, load_weights

TOLERANCE = 1e-4


MAX_INPUT_VALUES = 2**28  # 1 GiB of float32 per input: the comparison runs the net once


class ExportError(ValueError):
    """A bad request (config, weights, input shape, output path) or a failed comparison."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    params: int
    size_bytes: int
    max_abs_diff: float
    opset: int
    input_shape: tuple[int, ...]
    seconds: float


def frozen_subnet(
    space,
    config: Mapping[str, Any] | None = None,
    *,
    weights: str | os.PathLike | None = None,
    realise: Mapping[str, str] | None = None,
    seed: int = 0,
):
    """(derived space, plain eval-mode torch module) of `config`'s subnet.

    `weights` are the subnet's own (what `archc train --config` or a search's `best/`
    saves: they fit the derived module exactly) or a supernet's (sliced into the
    subnet); the subnet's own are tried first, since a supernet's never fit a smaller
    subnet and fit the largest only where slicing would copy them unchanged."""
    try:
        config = space.validate(config if config is not None else space.default())
    except ConfigError as err:
        raise ExportError(str(err)) from None
    derived = space.derive(config)
    torch.manual_seed(seed)
    module = build_module(derived)
    if weights is None:
        return derived, module.eval()
    try:
        load_weights(module, weights)
    except WeightsError:  # a supernet's, or a mismatch the supernet will name
        return derived, _sliced_from_supernet(space, config, weights, realise)
    return derived, module.eval()


def _sliced_from_supernet(space, config, weights, realise):
    """The subnet's module with its slices of a supernet checkpoint's weights."""
    supernet = build_supernet(space, realise)
    try:
        load_weights(supernet, weights)
    except WeightsError as err:
        raise ExportError(f"{err} (nor are they this subnet's own weights)") from None
    return supernet.derive(config).eval()


def module_weights(module) -> dict[str, np.ndarray]:
    """`"<weight name>.<param>" -> array` of a built module (keys without `net.`)."""
    out = {}
    for key, value in module.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        out[key.removeprefix("net.")] = value.detach().cpu().float().numpy()
    return out


def to_model(derived, module, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    model = to_onnx(derived.graph, state_weights(module_weights(module)), opset)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as err:
        raise ExportError(f"the ONNX model failed onnx.checker: {err}") from None
    return model


def export(
    space,
    output: str | os.PathLike,
    config: Mapping[str, Any] | None = None,
    *,
    weights: str | os.PathLike | None = None,
    input_shape: tuple[int, ...] | None = None,
    opset: int = DEFAULT_OPSET,
    realise: Mapping[str, str] | None = None,
    seed: int = 0,
    tolerance: float = TOLERANCE,
) -> ExportReport:
    """Export `config`'s subnet of `space` to `output` (see the module docstring)."""
    start = time.perf_counter()
    target = _writable(output)
    derived, module = frozen_subnet(space, config, weights=weights, realise=realise, seed=seed)
    return export_module(derived, module, target, input_shape, opset, seed, tolerance, start)


def export_module(
    derived,
    module,
    output: str | os.PathLike,
    input_shape: tuple[int, ...] | None = None,
    opset: int = DEFAULT_OPSET,
    seed: int = 0,
    tolerance: float = TOLERANCE,
    start: float | None = None,
) -> ExportReport:
    """Export a built module of a derived space (e.g. a subnet whose BatchNorm was
    recalibrated after a search), with the same checks and comparison as `export`."""
    start = time.perf_counter() if start is None else start
    target = _writable(output)
    module = module.eval()
    shapes = _input_shapes(derived, input_shape)
    model = to_model(derived, module, opset)
    data = model.SerializeToString()
    diff = _compare(data, module, shapes, seed)
    if not diff <= tolerance:
        raise ExportError(
            f"onnxruntime and torch differ by {diff:.3g} (tolerance "
            f"{tolerance:g}); nothing was written"
        )
    write_atomic(target, data)
    params = sum(p.numel() for p in module.parameters())
    return ExportReport(
        target,
        params,
        len(data),
        diff,
        opset,
        next(iter(shapes.values())),
        time.perf_counter() - start,
    )


def _writable(output: str | os.PathLike) -> Path:
    target = Path(output)
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give the path of the .onnx file to write")
    folder = target.parent if str(target.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"cannot write {target}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise ExportError(f"cannot write {target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ExportError(f"cannot write {target}: the folder {folder} is not writable")
    return target


def _input_shapes(derived, requested: tuple[int, ...] | None) -> dict[str, tuple[int, ...]]:
    """Shapes to compare with: every input at batch 1, or at the batch of `requested`
    (whose C x H x W must be the input's: a space has one resolution)."""
    shapes = input_shapes(derived.graph)
    for name, shape in shapes.items():
        if math.prod(shape) > MAX_INPUT_VALUES:
            raise ExportError(
                f"input `{name}` is {'x'.join(map(str, shape))} ({math.prod(shape):.3g} "
                f"values): too large to run once for the check against torch (at most "
                f"{MAX_INPUT_VALUES:,}); export at a smaller resolution"
            )
    if requested is None:
        return shapes
    if len(shapes) != 1:
        raise ExportError(
            f"--input names one shape, but the space has {len(shapes)} inputs "
            f"({', '.join(shapes)}); leave it out"
        )
    ((name, (_, *chw)),) = shapes.items()
    if len(requested) != 4 or list(requested[1:]) != chw or requested[0] < 1:
        raise ExportError(
            f"--input {'x'.join(map(str, requested))} does not fit the space, "
            f"whose input is Nx{'x'.join(map(str, chw))} (the batch N is free; "
            "change the resolution in the .arch file)"
        )
    return {name: tuple(requested)}


def _compare(data: bytes, module, shapes: dict[str, tuple[int, ...]], seed: int) -> float:
    rng = np.random.default_rng(seed)
    feeds = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    with torch.no_grad():
        expected = module(**{name: torch.from_numpy(x) for name, x in feeds.items()})
    expected = expected if isinstance(expected, dict) else {"": expected}
    got = session(data).run(None, feeds)
    return max(
        float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected.values(), strict=True)
    )
