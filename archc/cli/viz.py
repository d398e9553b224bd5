"""`archc viz FILE -o OUT.svg|.png|.dot`: a picture of a space or of one derived subnet."""

from __future__ import annotations

import argparse

from archc.cli import values
from archc.cli.common import CliFailure, add_config_options, chosen_config, load_space
from archc.cli.os_errors import describe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "viz",
        help="draw a space or a derived subnet",
        description="Draw FILE with graphviz: the whole space (choices written on the nodes "
        "that use them, guarded parts dashed, scopes as clusters), or with "
        "--config/--largest/--smallest the plain derived subnet. The output "
        "format follows the suffix: .dot always works; .svg/.png/.pdf need the "
        "graphviz `dot` binary.",
    )
    p.add_argument("file", metavar="FILE")
    add_config_options(p)
    p.add_argument(
        "--depth",
        type=values.POSITIVE,
        metavar="N",
        help="collapse everything nested deeper than N scopes into one box",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # imported here: `archc check` imports every command module and needs none of these
    from archc.compiler.backends.graphviz import RenderError, render, to_dot

    space = load_space(args.file, args.defines)
    named = args.config or args.largest or args.smallest
    graph = space.derive(chosen_config(space, args)).graph if named else space.graph
    try:
        path = render(to_dot(graph, depth=args.depth), args.output)
    except (RenderError, ValueError) as err:
        raise CliFailure(str(err)) from None
    except OSError as err:
        raise CliFailure(describe(err, args.output)) from None
    print(f"wrote {path}")
    return 0
