"""Helpers shared by subcommands: loading a space or a config with errors rendered."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from archc.compiler.ir import facts
from archc.kernel.diagnostics import render

if TYPE_CHECKING:  # `archc check` imports this module; it needs neither (nor networkx)
    from archc.compiler.space import Config
    from archc.compiler.space.space import Space


class CliFailure(Exception):
    """A user-facing failure whose message is complete (printed as `archc: message`)."""


class UsageError(CliFailure):
    """A bad command line found after parsing (options that do not go together, or one
    that is missing): exit 2 with the command's usage, as argparse's own checks."""


def load_space(path: str, defines: list[str] | None = None) -> Space:
    from archc.api import compile_file
    from archc.compiler.space.space import Space

    result = compile_file(path, defines=defines)
    if not result.ok:
        print(render(result.diagnostics, result.sources), file=sys.stderr)
        raise CliFailure(f"{path} has errors")
    if len(result.graphs) != 1:
        names = ", ".join(facts(g).name for g in result.graphs) or "none"
        raise CliFailure(f"{path}: expected exactly one space or net, found: {names}")
    return Space(result.graphs[0])


def add_define_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="replace the file's `const NAME` by VALUE, an expression of the language "
        "(-D T=4, -D 'INPUT=[3, 128, 96]', -D 'ACT=\"relu\"'); repeatable",
    )


def add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", metavar="C.json", help="a config file (archc-config JSON)")
    group.add_argument(
        "--largest", action="store_true", help="the config with the most MACs (ties: params)"
    )
    group.add_argument(
        "--smallest", action="store_true", help="the config with the fewest MACs (ties: params)"
    )


def chosen_config(space: Space, args: argparse.Namespace) -> Config | None:
    """The config the options name, validated against the space; None when none is named."""
    from archc.compiler.space import Config, ConfigError

    try:
        if args.config:
            config = Config.load(args.config)  # its errors name the file already
            try:
                return space.validate(config)
            except ConfigError as err:
                raise CliFailure(f"{args.config}: {err}") from None
        if args.largest:
            return space.largest()
        if args.smallest:
            return space.smallest()
    except ConfigError as err:
        raise CliFailure(str(err)) from None
    return space.default() if not space.choices else None


def add_realise_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--realise",
        action="append",
        default=[],
        metavar="PATTERN=KIND",
        help="override how the choices whose names match PATTERN (fnmatch, e.g. '*.op') are "
        "realised in the supernet: elastic, weighted, scaled, sigmoid, gumbel, sampled or "
        "policy "
        "(repeatable; later ones win)",
    )


def realise_overrides(args: argparse.Namespace) -> dict[str, str]:
    from archc.kernel.specs import REALISATIONS

    kinds = (*REALISATIONS, "scaled", "sigmoid")
    out = {}
    for item in args.realise:
        pattern, sep, kind = item.partition("=")
        if not sep or not pattern or kind not in kinds:
            raise UsageError(
                f"--realise {item!r}: expected PATTERN=KIND with KIND one of {', '.join(kinds)}"
            )
        out[pattern] = kind
    return out


def quantity(text: str) -> float:
    """`700M`, `1.5G`, `3000000` -> a number (for --max-macs and friends)."""
    from archc.dsl.transform import parse_number

    try:
        value, unit = parse_number(text.strip())
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a number: {text!r} (e.g. 700M, 1.5G)") from None
    if unit is not None:
        raise argparse.ArgumentTypeError(f"{text!r} is a duration; give a count like 300M")
    return value
