"""What is deployed, evaluated: an archc ONNX export run by onnxruntime as a pose net.

`archc eval --onnx MODEL.onnx` and `archc export --quantize int8 --data DIR` score
the file users ship (float32 or int8), not the torch module it came from. The
model is wrapped as a `torch.nn.Module` whose forward calls onnxruntime, so the
decoding, the flip test and the pycocotools evaluation are exactly those of
`archc eval` and of training's validation (`archc.runtime.train.evaluate`).

An archc export is recognised by its producer name; its data geometry (input
crop, heatmap size, keypoints) is read from its input and output shapes, so no
`.arch` file is needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch

from archc.compiler.backends.onnx.quantize import PRODUCER, precision_of
from archc.compiler.backends.onnx.runner import session
from archc.runtime.train.config import NetGeometry


class OnnxModelError(ValueError):
    """A file that is not an archc pose export (one-line message)."""


@dataclass(frozen=True)
class ArchcOnnx:
    path: Path
    data: bytes
    input_name: str
    output_name: str
    geometry: NetGeometry
    precision: str  # "fp32" or "int8"


def read_archc_onnx(path: str | os.PathLike) -> ArchcOnnx:
    """The export at `path`, checked: an ONNX file that archc wrote, with one image
    input [batch, 3, H, W] and one heatmap output [batch, K, h, w]."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise OnnxModelError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise OnnxModelError(f"{file} is a folder; give the .onnx file") from None
    except OSError as err:
        raise OnnxModelError(f"{file}: cannot read it ({err.strerror or err})") from None
    try:
        model = onnx.load_from_string(data)
    except Exception:  # protobuf's DecodeError and friends: not a model at all
        raise OnnxModelError(f"{file}: not an ONNX model") from None
    if model.producer_name != PRODUCER:
        who = f"produced by {model.producer_name!r}" if model.producer_name else "no producer"
        raise OnnxModelError(f"{file}: not an archc export ({who}); export it with `archc export`")
    graph = model.graph
    inputs = [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise OnnxModelError(
            f"{file}: {len(inputs)} inputs and {len(graph.output)} outputs; a pose model has "
            "one image input and one heatmap output (temporal nets run with `archc video`)"
        )
    in_shape, out_shape = _dims(inputs[0]), _dims(graph.output[0])
    if len(in_shape) != 4 or in_shape[1] != 3 or len(out_shape) != 4:
        raise OnnxModelError(
            f"{file}: input {in_shape} and output {out_shape}; a pose model takes "
            "[batch, 3, H, W] and gives heatmaps [batch, K, h, w]"
        )
    geometry = NetGeometry(
        graph.name, (in_shape[2], in_shape[3]), (out_shape[2], out_shape[3]), out_shape[1]
    )
    return ArchcOnnx(
        file, data, inputs[0].name, graph.output[0].name, geometry, precision_of(model)
    )


def _dims(value: onnx.ValueInfoProto) -> list:
    return [
        d.dim_value if d.HasField("dim_value") else d.dim_param
        for d in value.type.tensor_type.shape.dim
    ]


class OnnxPoseModel(torch.nn.Module):
    """An export as a module: `forward(images)` runs it in onnxruntime on the CPU
    with `threads` threads (evaluation only; it has no parameters to train)."""

    def __init__(self, export: ArchcOnnx, threads: int = 1) -> None:
        super().__init__()
        self.export, self.threads = export, threads

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feeds = {self.export.input_name: images.detach().cpu().float().numpy()}
        (maps,) = session(self.export.data, self.threads).run(None, feeds)
        return torch.from_numpy(np.asarray(maps))


def evaluate_onnx(
    path: str | os.PathLike,
    data_dir: str | os.PathLike,
    split: str = "val",
    *,
    threads: int = 1,
    batch: int = 32,
    flip: bool = True,
    limit: int | None = None,
    results_path: str | os.PathLike | None = None,
) -> dict[str, float]:
    """COCO's ten keypoint numbers of the export at `path` on `split` of `data_dir`,
    through `archc eval`'s decoding and evaluation (a `TrainError` for bad data)."""
    from archc.runtime.train import TrainConfig, evaluate
    from archc.runtime.train.data import find_split, load_split

    export = read_archc_onnx(path)
    config = TrainConfig(data=str(data_dir), batch=batch, limit_val=limit, threads=threads)
    data = load_split(
        find_split(data_dir, split), export.geometry, config, train=False, limit=limit
    )
    model = OnnxPoseModel(export, threads)
    return evaluate(
        model, data, batch=batch, device=torch.device("cpu"), flip=flip, results_path=results_path
    )
