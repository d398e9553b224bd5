"""`archc export --quantize int8`: the int8 half of `archc export` (runtime.deploy.int8).

The float32 model is written and checked first, as without --quantize; then the
calibrated int8 model is written beside it (`MODEL.int8.onnx`) when it is faster
on this CPU. With --data, both files are evaluated as shipped (COCO AP through
onnxruntime) so the accuracy cost of int8 is measured on the artefact itself.
"""

from __future__ import annotations

import argparse
import sys

from archc.cli import values
from archc.cli.common import CliFailure, UsageError


def add_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("int8 (docs/deployment.md)")
    g.add_argument(
        "--quantize",
        choices=("int8",),
        help="also write MODEL.int8.onnx: static int8 quantization calibrated on --calibrate, "
        "units whose int8 kernel is slower on this CPU kept in float32",
    )
    g.add_argument(
        "--calibrate", metavar="DIR", help="data directory whose train split calibrates int8"
    )
    g.add_argument(
        "--calibration-images",
        type=values.POSITIVE,
        default=128,
        metavar="N",
        help="training crops for the activation ranges (default 128)",
    )
    g.add_argument(
        "--calibration-method",
        choices=("minmax", "entropy", "percentile"),
        default="minmax",
        help="how activation ranges are chosen (default minmax)",
    )
    g.add_argument(
        "--per-channel",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one weight scale per output channel (default on)",
    )
    g.add_argument(
        "--lut",
        metavar="TABLE.json",
        help="an int8 latency table of this machine (`archc lut --quantize int8`) to read "
        "unit timings from instead of measuring them",
    )
    g.add_argument(
        "--data", metavar="DIR", help="evaluate the float32 and int8 files on DIR's val split"
    )
    g.add_argument(
        "--threads", type=values.POSITIVE, default=1, help="onnxruntime threads (default 1)"
    )
    g.add_argument(
        "--runs", type=values.POSITIVE, default=30, help="timed runs per latency (default 30)"
    )


def check(args: argparse.Namespace) -> None:
    """Flags that only make sense together, refused before anything is exported."""
    int8_only = ("calibrate", "lut", "data")
    if not args.quantize:
        given = [f"--{name}" for name in int8_only if getattr(args, name)]
        if given:
            raise UsageError(f"{', '.join(given)} only apply with --quantize int8")
        return
    if not args.calibrate:
        raise UsageError("--quantize int8 needs --calibrate DIR (training images for the ranges)")


def run(args: argparse.Namespace, space, config, fp32_path) -> None:
    """Quantize the float32 export at `fp32_path`; print what was kept and measured."""
    from archc.compiler.backends.onnx import quantize
    from archc.compiler.cost.latency_table import LatencyTableError
    from archc.onnx import quantize_int8
    from archc.runtime.deploy.onnx_pose import OnnxModelError

    try:
        quantize.check_int8_kernels()
    except quantize.QuantizeError as err:
        print(f"warning: {err}; only the float32 model was written", file=sys.stderr)
        return
    try:
        report = quantize_int8(
            space, fp32_path, args.calibrate, config,
            images=args.calibration_images, method=args.calibration_method,
            per_channel=args.per_channel, lut=args.lut, threads=args.threads,
            runs=args.runs, seed=args.seed, progress=_progress("timing units and classes"),
        )  # fmt: skip
    except (quantize.QuantizeError, LatencyTableError, OnnxModelError) as err:
        raise CliFailure(f"{err}; the float32 model {fp32_path} is kept") from None
    _print(report, report.calibration_crops, args)
    if args.data:
        _evaluate(args, fp32_path, report)


def _print(report, crops: int, args) -> None:
    kept = report.kept_fp32
    print(
        f"int8: {len(report.units) - len(kept)} of {len(report.units)} units quantized, "
        f"calibrated on {crops} crops ({args.calibration_method}"
        f"{', per channel' if args.per_channel else ''})"
    )
    by_class: dict[str, list] = {}
    for unit, why in kept:
        by_class.setdefault(unit.kind, []).append(why)
    for kind, whys in by_class.items():
        print(f"  kept float32: {len(whys)} x {kind} ({whys[0]})")
    speed = (
        f"latency on {args.threads} thread(s): float32 {report.fp32.median_ms:.2f} ms, "
        f"int8 {report.int8.median_ms:.2f} ms ({report.speedup:.2f}x)"
    )
    if report.path is None:
        print(f"warning: int8 is not faster on this CPU; no int8 file written ({speed})")
    else:
        print(f"wrote {report.path}: {speed}")


def _evaluate(args, fp32_path, report) -> None:
    from archc.runtime.deploy.onnx_pose import OnnxModelError, evaluate_onnx
    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.train import TrainError

    paths = {"float32": fp32_path} | ({"int8": report.path} if report.path else {})
    for name, path in paths.items():
        try:
            stats = evaluate_onnx(path, args.data, threads=args.threads)
        except (TrainError, PoseDataError, OnnxModelError) as err:
            written = ", ".join(str(p) for p in paths.values())
            raise CliFailure(f"{written} written; evaluation on --data failed: {err}") from None
        print(f"AP {name}: {stats['AP']:.4f} (AP50 {stats['AP50']:.4f}) on {args.data} val")


def _progress(label: str, unit: str = "unit"):
    from tqdm import tqdm

    return lambda items: tqdm(
        items, desc=label, unit=unit, file=sys.stderr,
        disable=not sys.stderr.isatty(), leave=False,
    )  # fmt: skip
