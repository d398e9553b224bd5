"""`archc video SPACE --tnet BEST --key-net RUN --data DIR`: online pose estimation over
the videos of a split with a found temporal net (runtime/temporal/infer.py).

The key net runs on every key frame, the derived T-frame net (a search's best/:
config.json, weights.safetensors, model.onnx) on the T frames after it, one clip
at a time on --threads CPU threads (default 1, as ViPNAS measures). Prints the
OKS AP over all frames and the frames/s of key net + T-net against the key net
alone on every frame; --results writes the COCO results.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from archc.cli import values
from archc.cli.common import CliFailure, add_define_option, load_space
from archc.cli.keynet import add_key_net_options, key_net_files, load_key_net
from archc.cli.os_errors import describe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "video",
        help="online video pose estimation with a key net and a found temporal net",
        description="Run the key net on each key frame and the temporal net of --tnet "
        "on the T frames after it, clip by clip (batch 1) over a video split; print OKS "
        "AP over every frame and frames/s against the key net alone. See "
        "docs/temporal.md.",
    )
    p.add_argument("file", metavar="SPACE", help="the temporal space the net was found in")
    add_define_option(p)
    p.add_argument(
        "--tnet",
        required=True,
        metavar="DIR",
        help="the found net: a search's best/ (config.json, weights.safetensors, model.onnx)",
    )
    add_key_net_options(p)
    p.add_argument("--data", required=True, metavar="DIR", help="a video data directory")
    p.add_argument("--split", default="val", choices=("train", "val"), help="default val")
    p.add_argument("--limit", type=values.POSITIVE, metavar="N", help="the first N images")
    p.add_argument("--engine", choices=("torch", "onnx"), default="torch", help="default torch")
    p.add_argument("--threads", type=values.POSITIVE, default=1, metavar="T", help="default 1")
    p.add_argument("--results", metavar="OUT.json", help="write the COCO results here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _tnet_files(folder: str, engine: str) -> tuple[Path, Path, Path]:
    root = Path(folder)
    files = (root / "config.json", root / "weights.safetensors", root / "model.onnx")
    needed = files if engine == "onnx" else files[:2]
    missing = [f.name for f in needed if not f.is_file()]
    if missing:
        raise CliFailure(
            f"--tnet {folder}: no {', '.join(missing)} there (give a search's best/ folder)"
        )
    return files


def run(args: argparse.Namespace) -> int:
    import torch

    from archc.compiler.space import Config, ConfigError
    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.temporal.contract import is_temporal, temporal_contract
    from archc.runtime.temporal.infer import run_online, score
    from archc.runtime.train import TrainConfig, TrainError
    from archc.runtime.train.data import find_split, load_split
    from archc.runtime.weights import WeightsError

    space = load_space(args.file, args.defines)
    if not is_temporal(space):
        raise CliFailure(f"`{space.name}` is not a temporal space (it has one input)")
    config_file, weights, onnx_file = _tnet_files(args.tnet, args.engine)
    files = key_net_files(args)
    if files is None:
        raise CliFailure("name the key net with --key-net (the one the search used)")
    torch.set_num_threads(args.threads)
    try:
        contract = temporal_contract(space)
        config = space.validate(Config.load(config_file))
        key_net = load_key_net(files, args.defines)
        key_net.check_fits(contract.geometry)
        train = TrainConfig(data=args.data, batch=1)
        split = find_split(args.data, args.split)
        data = load_split(split, contract.geometry, train, train=False, limit=args.limit)
        key, propagation = _engine(args, space, config, weights, onnx_file, key_net, contract)
        run_ = run_online(key, propagation, data)
        stats = score(run_, data)
    except (ConfigError, TrainError, PoseDataError, WeightsError) as err:
        raise CliFailure(str(err)) from None
    if args.results:
        _write_results(args.results, run_.results)
    _report(args, space, key_net, contract, run_, stats)
    return 0


def _engine(args, space, config, weights, onnx_file, key_net, contract):
    """(key, propagation) functions of the chosen engine."""
    from archc.runtime.temporal.clip_model import Propagation
    from archc.runtime.weights import load_weights
    from archc.torch import build_module

    if args.engine == "onnx":
        return _onnx_engine(onnx_file, key_net, contract, args.threads)
    module = build_module(space.derive(config))
    load_weights(module, weights)
    return key_net, Propagation(module.eval(), contract).eval()


def _onnx_engine(onnx_file: Path, key_net, contract, threads: int):
    from archc.compiler.backends.onnx.export import ExportError, export_module
    from archc.runtime.temporal.infer import onnx_functions

    with tempfile.TemporaryDirectory(prefix="archc-video-") as folder:
        try:
            key_onnx = export_module(key_net.fixed, key_net.module, Path(folder) / "key.onnx")
        except ExportError as err:
            raise CliFailure(f"the key net does not export to ONNX: {err}") from None
        # the sessions hold the models in memory: the exported file may go
        return onnx_functions(str(key_onnx.path), str(onnx_file), contract, threads)


def _write_results(path: str, results: list) -> None:
    from archc.kernel.files import write_atomic

    try:
        write_atomic(Path(path), json.dumps(results) + "\n")
    except OSError as err:
        raise CliFailure(describe(err, Path(path))) from None


def _report(args, space, key_net, contract, run_, stats: dict[str, Any]) -> None:
    doc = {
        "space": space.name,
        "frames_per_clip": contract.length + 1,
        "clips": run_.clips,
        "frames": run_.frames,
        "engine": args.engine,
        "threads": args.threads,
        "fps": run_.fps,
        "key_only_fps": run_.key_only_fps,
        "speedup": run_.fps / run_.key_only_fps,
        **{k: stats[k] for k in ("AP", "AP50", "AP75", "AR")},
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(
        f"{space.name} (T={contract.length}) with key net `{key_net.geometry.name}` on "
        f"{run_.clips} clips ({run_.frames} frames), {args.engine}, {args.threads} "
        f"thread{'s' * (args.threads != 1)}:\n"
        f"  AP {stats['AP']:.4f}  AP50 {stats['AP50']:.4f}  (all frames)\n"
        f"  key net + T-net {run_.fps:.1f} frames/s; key net on every frame "
        f"{run_.key_only_fps:.1f} frames/s ({doc['speedup']:.2f}x)"
    )
    if args.results:
        print(f"results: {args.results}")
