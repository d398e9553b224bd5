"""`archc export FILE -o model.onnx`: a derived subnet as one checked ONNX file."""

from __future__ import annotations

import argparse
import contextlib
import io

from archc.cli import export_int8, values
from archc.cli.common import (
    CliFailure,
    UsageError,
    add_config_options,
    add_realise_option,
    chosen_config,
    load_space,
    realise_overrides,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a subnet to ONNX for CPU deployment",
        description="Derive the subnet of a config of FILE (the only one for a net), freeze it "
        "into plain layers, write one self-contained ONNX file (batch size "
        "dynamic), check it with onnx.checker and compare onnxruntime with torch on "
        "a random input. Weights come from --weights (the subnet's own, or a "
        "supernet's sliced into it) or a seeded initialisation. Nothing is written "
        "when any step fails.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.onnx")
    add_config_options(p)
    p.add_argument(
        "--weights",
        metavar="W.safetensors",
        help="the subnet's own weights (archc train --config, a search's best/) or a "
        "supernet's, whose slices are copied into the subnet",
    )
    add_realise_option(p)
    p.add_argument(
        "--input",
        metavar="NxCxHxW",
        type=_shape,
        help="input shape to compare with (N free; C, H, W must be the space's)",
    )
    p.add_argument(
        "--opset", type=values.count(17, 21), default=None, help="ONNX opset 17 to 21 (default 17)"
    )
    p.add_argument("--seed", type=values.NATURAL, default=0, help="initialisation and input seed")
    p.add_argument(
        "--tolerance",
        type=values.WEIGHT,
        default=1e-4,
        help="largest accepted |onnxruntime - torch| (default 1e-4)",
    )
    export_int8.add_options(p)
    p.set_defaults(run=run)


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a shape: {text!r} (e.g. 1x3x256x192)") from None
    if len(dims) != 4 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"not a shape: {text!r} (e.g. 1x3x256x192)")
    return dims


def run(args: argparse.Namespace) -> int:
    from archc.compiler.backends.onnx.builder import DEFAULT_OPSET
    from archc.onnx import ExportError, export

    if args.opset is not None and not 17 <= args.opset <= 21:
        raise UsageError(f"--opset {args.opset} is not supported (17 to 21)")
    if not args.tolerance >= 0:
        raise UsageError(f"--tolerance must be >= 0, got {args.tolerance}")
    export_int8.check(args)
    space = load_space(args.file, args.defines)
    config = chosen_config(space, args)
    if config is None:
        raise CliFailure(
            f"{args.file} has {len(space.choices)} choices: give --config, --largest or --smallest"
        )
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            report = export(
                space,
                args.output,
                config,
                weights=args.weights,
                input_shape=args.input,
                opset=args.opset or DEFAULT_OPSET,
                realise=realise_overrides(args),
                seed=args.seed,
                tolerance=args.tolerance,
            )
    except ExportError as err:
        raise CliFailure(str(err)) from None
    print(
        f"wrote {report.path}: {report.params:,} params, {report.size_bytes / 1e6:.1f} MB, "
        f"opset {report.opset}; onnxruntime vs torch max |diff| {report.max_abs_diff:.2e} "
        f"on input {'x'.join(map(str, report.input_shape))} ({report.seconds:.1f} s)"
    )
    if args.quantize:
        export_int8.run(args, space, config, report.path)
    return 0
