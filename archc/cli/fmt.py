"""`archc fmt FILE...`: print, check or rewrite files in canonical form."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from archc.dsl.fmt import format_source
from archc.dsl.loader import read_source
from archc.kernel.diagnostics import ArchError, render
from archc.kernel.files import write_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fmt",
        help="format .arch files canonically",
        description="Print the canonical form of each file (comments are kept). With "
        "--check, print nothing and exit 1 if a file is not canonical; with "
        "--write, rewrite files in place (atomically).",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if a file would change")
    mode.add_argument("--write", action="store_true", help="rewrite files in place")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    status = 0
    for name in args.files:
        try:
            text = read_source(Path(name), name)
            formatted = format_source(text, name)
        except ArchError as err:
            print(render(err.diagnostics, {name: _maybe_text(name)}), file=sys.stderr)
            status = 1
            continue
        if args.check:
            if formatted != text:
                print(f"would reformat {name}", file=sys.stderr)
                status = 1
        elif args.write:
            if formatted != text:
                write_atomic(name, formatted)
                print(f"reformatted {name}")
        else:
            sys.stdout.write(formatted)
    return status


def _maybe_text(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
