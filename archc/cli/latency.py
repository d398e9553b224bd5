"""`archc latency FILE`: how fast a subnet runs in onnxruntime on this CPU."""

from __future__ import annotations

import argparse
import contextlib
import io
import json

from archc.cli import values
from archc.cli.common import CliFailure, add_config_options, chosen_config, load_space


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "latency",
        help="measure a subnet's latency with onnxruntime on this CPU",
        description="Derive a config's subnet, export it to ONNX in memory and time forwards "
        "in onnxruntime (CPU): median and p90 over --runs after a warm-up. "
        "--torch times torch eager too, with the same thread count.",
    )
    p.add_argument("file", metavar="FILE")
    add_config_options(p)
    p.add_argument(
        "--threads", type=values.POSITIVE, default=1, help="intra-op threads (default 1)"
    )
    p.add_argument("--runs", type=values.POSITIVE, default=50, help="timed runs (default 50)")
    p.add_argument("--batch", type=values.POSITIVE, default=1, help="batch size (default 1)")
    p.add_argument("--torch", action="store_true", help="also time torch eager")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archc.compiler.backends.onnx.runner import ort_latency, time_calls
    from archc.compiler.ir import input_shapes
    from archc.onnx import ExportError, subnet_model

    space = load_space(args.file, args.defines)
    config = chosen_config(space, args)
    if config is None:
        raise CliFailure(f"{args.file} has choices: give --config, --largest or --smallest")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            derived, module, data = subnet_model(space, config)
    except ExportError as err:
        raise CliFailure(str(err)) from None
    shapes = input_shapes(derived.graph, args.batch)
    result = {"onnxruntime": ort_latency(data, shapes, args.threads, args.runs)}
    if args.torch:
        result["torch"] = _torch_timing(module, shapes, args, time_calls)
    if args.json:
        print(
            json.dumps(
                {
                    k: {"median_ms": t.median_ms, "p90_ms": t.p90_ms, "runs": t.runs}
                    for k, t in result.items()
                }
                | {"threads": args.threads}
            )
        )
    else:
        for engine, timing in result.items():
            print(f"{engine:12s} {timing} on {args.threads} thread(s), batch {args.batch}")
    return 0


def _torch_timing(module, shapes, args, time_calls):
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    inputs = [torch.randn(shape) for shape in shapes.values()]
    try:
        with torch.inference_mode():
            return time_calls(lambda: module(*inputs), args.runs, 5)
    finally:
        torch.set_num_threads(previous)
