"""`archc check FILE...`: parse, resolve and elaborate; report every problem found."""

from __future__ import annotations

import argparse
import sys

from archc.api import compile_file
from archc.compiler.ir import facts
from archc.kernel.diagnostics import Severity, render


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="check .arch files for errors",
        description="Parse each file and everything it imports, resolve names, check calls "
        "and types, elaborate every `space` and `net` (loops unrolled, choices "
        "named), lower it to the IR and check tensor shapes for every config. "
        "Prints every error with its location; exits 1 if any.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=".arch files to check")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.add_argument(
        "--error-on-warning",
        action="store_true",
        help="exit 1 when there are warnings (e.g. a value that never reaches an output), "
        "as for errors: for CI",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        result = compile_file(path, defines=args.defines)
        if result.diagnostics:
            print(render(result.diagnostics, result.sources), file=sys.stderr)
        warned = any(d.severity is Severity.WARNING for d in result.diagnostics)
        if not result.ok or (warned and args.error_on_warning):
            failed += 1
        elif not args.quiet:
            print(f"ok  {path}: {_summary(result)}")
    if failed and len(args.files) > 1:
        print(f"{failed} of {len(args.files)} files have errors", file=sys.stderr)
    return 1 if failed else 0


def _summary(result) -> str:
    if not result.checked:
        return "no space or net (a library of blocks)"
    parts = []
    for g in result.checked:
        kind = "net" if facts(g).is_net else "space"
        parts.append(
            f"{kind} {facts(g).name} ({len(facts(g).choices)} choices, {g.number_of_nodes()} nodes)"
        )
    return ", ".join(parts)
