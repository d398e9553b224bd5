"""`archc check FILE...`: parse, resolve and elaborate; report every problem found."""

from __future__ import annotations

import argparse
import sys

from archc.dsl.diagnostics import render
from archc.dsl.frontend import check_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="check .arch files for errors",
        description="Parse each file and everything it imports, resolve names, check calls "
                    "and types, and elaborate every `space` and `net` (loops unrolled, "
                    "choices named). Prints every error with its location; exits 1 if any.")
    p.add_argument("files", nargs="+", metavar="FILE", help=".arch files to check")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        result = check_file(path)
        if result.diagnostics:
            print(render(result.diagnostics, result.sources), file=sys.stderr)
        if not result.ok:
            failed += 1
        elif not args.quiet:
            print(f"ok  {path}: {_summary(result)}")
    if failed and len(args.files) > 1:
        print(f"{failed} of {len(args.files)} files have errors", file=sys.stderr)
    return 1 if failed else 0


def _summary(result) -> str:
    if not result.spaces:
        return "no space or net (a library of blocks)"
    parts = []
    for s in result.spaces:
        kind = "net" if s.is_net else "space"
        parts.append(f"{kind} {s.name} ({len(s.choices)} choices, {len(s.nodes)} nodes)")
    return ", ".join(parts)
