"""`archc eval FILE --weights W --data DIR`: COCO OKS AP/AR of trained weights.

Runs the validation of `archc train` (`archc.runtime.train.validate`) on a split
of DIR: ground-truth boxes, flip test unless --no-flip, the ten COCOeval
numbers. With the run's batch size and thread count, and --limit equal to its
--limit-val, the numbers are the ones the run logged for the epoch of the weights
(other batch sizes or thread counts change the heatmaps in their last bits, which
can move an argmax).
"""

from __future__ import annotations

import argparse
import json
import os

from archc.cli import values
from archc.cli.common import CliFailure, UsageError, add_config_options, load_space
from archc.cli.os_errors import describe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate trained weights (COCO keypoint AP/AR)",
        description="Load W (a safetensors file from archc train) into the network of FILE "
        "(or the subnet --config/--largest/--smallest names), predict the "
        "keypoints of every person of DIR's split (ground-truth boxes) and print "
        "COCO's ten AP/AR numbers.",
    )
    p.add_argument("file", metavar="FILE", nargs="?", help="the .arch file (not with --onnx)")
    add_config_options(p)
    p.add_argument("--weights", metavar="W.safetensors")
    p.add_argument(
        "--onnx",
        metavar="MODEL.onnx",
        help="evaluate an `archc export` file (float32 or int8) through onnxruntime instead: "
        "what is deployed, with the same decoding and COCO evaluation",
    )
    p.add_argument(
        "--data", required=True, metavar="DIR", help="data directory (annotations/ and images/)"
    )
    p.add_argument("--split", default="val", help="split to evaluate (default val)")
    p.add_argument(
        "--flip", action=argparse.BooleanOptionalAction, default=True, help="flip test (default on)"
    )
    p.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="float16 autocast on CUDA, as training validates (default on)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--batch", type=values.POSITIVE, default=32, metavar="B", help="batch size (default 32)"
    )
    p.add_argument(
        "--limit", type=values.POSITIVE, metavar="N", help="use the first N images of the split"
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--workers", type=values.NATURAL, metavar="W", help="data loading processes")
    p.add_argument(
        "--threads",
        type=values.POSITIVE,
        metavar="T",
        help="CPU threads for torch (the run's, to reproduce its numbers exactly)",
    )
    p.add_argument("--results", metavar="OUT.json", help="also write the COCO results here")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.onnx:
        return _run_onnx(args)
    if not args.file or not args.weights:
        raise UsageError("give FILE and --weights W.safetensors, or --onnx MODEL.onnx")
    from archc.cli.train import build_net
    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.train import TrainConfig, TrainError, evaluate
    from archc.runtime.train.data import find_split, load_split
    from archc.runtime.train.device import configure, select_device
    from archc.runtime.weights import WeightsError, load_weights

    space = load_space(args.file, args.defines)
    module, geometry, _ = build_net(space, args, seed=0)
    workers = min(4, os.cpu_count() or 1) if args.workers is None else args.workers
    try:
        config = TrainConfig(
            data=args.data,
            batch=args.batch,
            workers=workers,
            device=args.device,
            limit_val=args.limit,
            threads=args.threads,
        )
        device = select_device(config.device)
        configure(config, device)
        load_weights(module, args.weights)
        data = load_split(
            find_split(args.data, args.split), geometry, config, train=False, limit=args.limit
        )
        stats = evaluate(
            module.to(device),
            data,
            batch=config.batch,
            device=device,
            flip=args.flip,
            amp=args.amp and device.type == "cuda",
            workers=workers,
            results_path=args.results,
        )
    except (TrainError, WeightsError, PoseDataError) as err:
        raise CliFailure(str(err)) from None
    except OSError as err:
        raise CliFailure(describe(err, args.results)) from None
    _print(
        args, stats, f"{geometry.name} on {args.data} ({args.split}, {len(data.indices)} persons"
    )
    return 0


def _run_onnx(args: argparse.Namespace) -> int:
    """`--onnx`: the export evaluated as shipped (`runtime.deploy.onnx_pose`)."""
    if args.file or args.weights:
        raise UsageError("--onnx evaluates the model file alone: leave out FILE and --weights")
    from archc.runtime.deploy.onnx_pose import OnnxModelError, evaluate_onnx, read_archc_onnx
    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.train import TrainError

    try:
        export = read_archc_onnx(args.onnx)
        stats = evaluate_onnx(
            args.onnx, args.data, args.split, threads=args.threads or 1, batch=args.batch,
            flip=args.flip, limit=args.limit, results_path=args.results,
        )  # fmt: skip
    except (OnnxModelError, TrainError, PoseDataError) as err:
        raise CliFailure(str(err)) from None
    except OSError as err:
        raise CliFailure(describe(err, args.results)) from None
    name = f"{args.onnx} ({export.precision}, onnxruntime)"
    _print(args, stats, f"{name} on {args.data} ({args.split}")
    return 0


def _print(args: argparse.Namespace, stats: dict[str, float], what: str) -> None:
    if args.json:
        print(json.dumps(stats))
        return
    print(f"{what}, flip test {'on' if args.flip else 'off'}):")
    for name, value in stats.items():
        print(f"  {name:<5} {value:.4f}")
