"""`archc viz FILE -o OUT.svg|.png|.dot`: a picture of a space or of one derived subnet."""

from __future__ import annotations

import argparse

from archc.cli.common import CliFailure, UsageError, add_config_options, chosen_config, load_space


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
        type=int,
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
    if args.depth is not None and args.depth < 1:
        raise UsageError("--depth must be at least 1")
    try:
        path = render(to_dot(graph, depth=args.depth), args.output)
    except (RenderError, ValueError, OSError) as err:
        raise CliFailure(str(err)) from None
    print(f"wrote {path}")
    return 0
