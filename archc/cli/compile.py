"""`archc compile FILE -o DIR`: the IR as JSON, and its picture as DOT (and SVG)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from archc.cli import values
from archc.cli.common import CliFailure, load_space
from archc.cli.os_errors import describe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compile",
        help="compile to the IR (JSON) and a picture",
        description="Compile FILE and write DIR/NAME.ir.json (the versioned IR, loadable "
        "with archc.load_ir), DIR/NAME.dot, and DIR/NAME.svg when graphviz's "
        "`dot` binary is installed. NAME is the space's name.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument(
        "--depth", type=values.POSITIVE, metavar="N", help="collapse the picture below N scopes"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # imported here: `archc check` imports every command module and needs none of these
    from archc.compiler.backends.graphviz import render, to_dot
    from archc.compiler.serialize import save_ir

    space = load_space(args.file, args.defines)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CliFailure(f"{out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = [out / f"{space.name}.ir.json", out / f"{space.name}.dot"]
        save_ir(space.graph, written[0])
        dot = to_dot(space.graph, depth=args.depth)
        render(dot, written[1])
        if shutil.which("dot"):
            written.append(render(dot, out / f"{space.name}.svg"))
    except OSError as err:
        raise CliFailure(describe(err, out)) from None
    for path in written:
        print(f"wrote {path}")
    return 0
