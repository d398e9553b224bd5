"""`archc` entry point: parse arguments, dispatch, render diagnostics, exit code.

Subcommands live in `archc.cli.<name>` modules, each with `register(subparsers)`
and a `run(args) -> int`. User mistakes arrive as `ArchError` and are rendered;
anything else is a bug in archc: one line asking for a report, and the
traceback only with `--debug`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback

import archc
from archc.cli import (
    check,
    compile,
    data,
    eval,
    export,
    fmt,
    imports_done,
    info,
    latency,
    lsp,
    lut,
    report,
    requires,
    sample,
    search,
    supernet,
    train,
    video,
    viz,
)
from archc.cli.common import CliFailure, UsageError, add_define_option
from archc.cli.os_errors import STDOUT, describe

COMMANDS = (
    check,
    fmt,
    compile,
    info,
    sample,
    viz,
    export,
    latency,
    lut,
    data,
    train,
    eval,
    supernet,
    search,
    video,
    report,
    lsp,
)
DEFINE_COMMANDS = ("check", "compile", "info", "sample", "viz", "export", "latency", "lut")
DEFINE_COMMANDS += ("train", "eval", "search")
BUG_URL = "https://github.com/archc/archc/issues"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archc",
        description="archc: a declarative architecture compiler for neural architecture "
        "search. Write networks and search spaces in .arch files; check, format "
        "and compile them.",
        epilog="Run `archc COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"archc {archc.__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show Python tracebacks of internal errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    for name in DEFINE_COMMANDS:  # every command that compiles an .arch file
        add_define_option(sub.choices[name])
    return parser


def _other_rank() -> bool:
    """A data-parallel process other than rank 0 (`torchrun` sets RANK and WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and os.environ.get("RANK", "0") != "0"


DATA_PARALLEL = ("train", "supernet")  # the commands that run under torchrun (docs/scale.md)


def _check_torchrun(command: str) -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and command not in DATA_PARALLEL:
        raise CliFailure(
            f"`archc {command}` runs in one process; under torchrun only `archc train` and "
            "`archc supernet train` train data-parallel (a search scales out with "
            "--workers N on Ray: docs/scale.md)"
        )


def main(argv: list[str] | None = None) -> int:
    imports_done()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    if _other_rank():  # under torchrun, rank 0 reports; the others say only what fails
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the process's life)
    try:
        _check_torchrun(args.command)
        requires.check(args.command, args)
        status = args.run(args)
        if not sys.stdout.closed:  # (`archc lsp` closes it at the end of a session)
            sys.stdout.flush()  # a full disk under `> file` is found here, not at exit
        return status
    except UsageError as err:  # found after parsing, told as argparse tells its own
        command = _subparser(parser, args)
        command.print_usage(sys.stderr)
        print(f"{command.prog}: error: {err}", file=sys.stderr)
        return 2
    except CliFailure as err:
        print(f"archc: {err}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as err:
        line = requires.missing_extra(args.command, err)
        if line is None:
            return _internal_error(err, args.debug)
        print(f"archc: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:  # a command may say what was kept and how to go on
        print(f"archc: interrupted{f'; {err}' if str(err) else ''}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `archc info FILE | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as err:
        print(f"archc: {_os_error(err)}", file=sys.stderr)
        return 1
    except Exception as err:
        return _internal_error(err, args.debug)


def _subparser(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The parser of the command (and subcommand) that `args` came from."""
    while parser._subparsers is not None:
        action = parser._subparsers._group_actions[0]
        chosen = getattr(args, action.dest, None)
        if chosen is None:
            break
        parser = action.choices[chosen]
    return parser


def _os_error(err: OSError) -> str:
    """The sentence for an OSError; one without a file name met while standard output
    cannot be written is that output (`archc info x.arch > /dev/full`)."""
    if err.filename is None:
        try:
            sys.stdout.flush()
        except OSError:
            with contextlib.suppress(OSError, ValueError):  # no flush error again at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return describe(err, STDOUT)
    return describe(err)


def _internal_error(err: Exception, debug: bool) -> int:
    if debug:
        traceback.print_exception(err)
    print(
        f"archc: internal error ({type(err).__name__}: {err}); this is a bug in archc, "
        f"please report it at {BUG_URL} with the file that caused it "
        "(run with --debug for the traceback)",
        file=sys.stderr,
    )
    return 3


if __name__ == "__main__":
    sys.exit(main())
