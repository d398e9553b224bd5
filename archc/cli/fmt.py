"""`archc fmt FILE...`: print, check or rewrite files in canonical form."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from archc.dsl.diagnostics import ArchError, render
from archc.dsl.fmt import format_source
from archc.dsl.loader import read_source


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fmt", help="format .arch files canonically",
        description="Print the canonical form of each file (comments are kept). With "
                    "--check, print nothing and exit 1 if a file is not canonical; with "
                    "--write, rewrite files in place (atomically).")
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
                _write_atomic(Path(name), formatted)
                print(f"reformatted {name}")
        else:
            sys.stdout.write(formatted)
    return status


def _maybe_text(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
