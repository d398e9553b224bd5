"""`archc lut FILE -o TABLE`: measure the latency lookup table of a space on this CPU."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

from archc.cli import values
from archc.cli.common import CliFailure, load_space
from archc.cli.os_errors import describe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lut",
        help="measure a latency lookup table on this CPU",
        description="Time, with onnxruntime on this CPU, every distinct unit (op with its "
        "resolved attributes and input shapes; convs with their fused BN and "
        "activation) that occurs anywhere in FILE's space, and write the table "
        "with the machine description. An existing TABLE measured on this machine "
        "with the same threads is reused: only missing entries are measured. "
        "--calibrate compares predicted and measured latency of random configs.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="TABLE.json")
    p.add_argument(
        "--threads", type=values.POSITIVE, default=1, help="intra-op threads (default 1)"
    )
    p.add_argument(
        "--runs", type=values.POSITIVE, default=20, help="timed runs per entry (default 20)"
    )
    p.add_argument(
        "--calibrate",
        type=values.count(2),
        nargs="?",
        const=20,
        default=None,
        metavar="N",
        help="then compare predicted and measured latency of N random configs "
        "(default 20): rank correlation and mean absolute percentage error",
    )
    p.add_argument("--seed", type=values.NATURAL, default=0, help="seed of the calibration configs")
    p.add_argument(
        "--quantize",
        choices=("int8",),
        help="measure every unit in float32 and quantized to int8 and keep the faster, as "
        "`archc export --quantize int8` deploys it: a table for searching the latency "
        "of the int8 model (docs/deployment.md)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archc.compiler.backends.onnx.lut import build_lut, calibrate, is_current
    from archc.compiler.cost.latency_table import LatencyTable, LatencyTableError

    space = load_space(args.file, args.defines)
    out = Path(args.output)
    if out.is_dir() or not out.parent.is_dir():
        raise CliFailure(f"cannot write {out}: give a file path in an existing folder")
    precision = args.quantize or "fp32"
    existing = None
    if out.exists():
        try:
            existing = LatencyTable.load(out)
        except LatencyTableError as err:
            raise CliFailure(f"{err}; remove it or choose another path") from None
        if existing.precision != precision:
            raise CliFailure(
                f"{out} holds {existing.precision} latencies, not {precision}: write the "
                f"{precision} table to another file"
            )
    if existing is not None and is_current(existing, space, args.threads, precision):
        print(
            f"{out} is up to date for {space.name} on this machine "
            f"({len(existing.entries):,} entries)"
        )
        table = existing
    else:
        _check_int8(precision)
        report = build_lut(
            space, args.threads, args.runs, existing, _progress("measuring"), precision
        )
        table = report.table
        _save(table, out)
        note = "" if report.complete else " (some units were sampled, not enumerated)"
        print(
            f"wrote {out}: {report.measured:,} {precision} entries measured, "
            f"{report.reused:,} reused, call overhead {table.overhead_ms:.3f} ms{note}"
        )
        if table.pairs:
            faster = sum(1 for key in table.pairs if not table.keeps_fp32(key))
            print(f"int8 is faster than float32 for {faster:,} of {len(table.pairs):,} units")
    if args.calibrate:
        with contextlib.redirect_stdout(io.StringIO()):
            result = calibrate(
                space, table, args.calibrate, args.runs, args.seed, _progress("calibrating")
            )
        print(
            f"calibration over {args.calibrate} configs: Spearman rank correlation "
            f"{result.spearman:.3f}, mean absolute percentage error {result.mape:.1f}%"
        )
    return 0


def _check_int8(precision: str) -> None:
    if precision == "int8":
        from archc.compiler.backends.onnx.quantize import QuantizeError, check_int8_kernels

        try:
            check_int8_kernels()
        except QuantizeError as err:
            raise CliFailure(str(err)) from None


def _save(table, out: Path) -> None:
    try:
        table.save(out)
    except OSError as err:
        raise CliFailure(describe(err, out)) from None


def _progress(label: str):
    from tqdm import tqdm

    return lambda items: tqdm(
        items,
        desc=label,
        unit="entry",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    )
