"""`archc` entry point: parse arguments, dispatch, render diagnostics, exit code.

Subcommands live in `archc.cli.<name>` modules, each with `register(subparsers)`
and a `run(args) -> int`. User mistakes arrive as `ArchError` and are rendered;
anything else is a bug in archc: one line asking for a report, and the
traceback only with `--debug`.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
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
    info,
    latency,
    lsp,
    lut,
    requires,
    sample,
    search,
    supernet,
    train,
    viz,
)
from archc.cli.common import CliFailure, UsageError, add_define_option

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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    try:
        requires.check(args.command)
        code = args.run(args)
        sys.stdout.flush()  # a full disk behind stdout fails here, not silently at exit
        return code
    except UsageError as err:
        print(f"archc {args.command}: {err}", file=sys.stderr)
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
        _drop_stdout()
        return 141
    except OSError as err:
        return _os_error(err, args.debug)
    except Exception as err:
        return _internal_error(err, args.debug)


def _os_error(err: OSError, debug: bool) -> int:
    """A file the system refused (missing, not a folder, disk full) is the user's to
    fix: one line with its path. Standard output that cannot be written is said so."""
    if err.filename is not None:
        print(f"archc: {err.filename}: {err.strerror or err}", file=sys.stderr)
        return 1
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG):
        _drop_stdout()
        print(f"archc: cannot write to standard output: {err.strerror}", file=sys.stderr)
        return 1
    return _internal_error(err, debug)


def _drop_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
