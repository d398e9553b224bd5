"""The values of command-line options, checked while the command line is parsed.

Why at parse time: a value outside an option's domain (`--epochs 0`, `--opset 3`,
`--tolerance -1`, `--lr nan`) is a bad command line, and a bad command line exits 2
with argparse's usage line and one error line naming the option, before anything is
loaded, compiled or written. Each checker here is an argparse `type=`; a check that
needs two options together raises `common.UsageError` after parsing, which
`archc.cli.main` renders the same way. Each checker also knows values it refuses
(`bad`), so that one test can try every numeric option of every command.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from archc.cli.common import quantity


class Checker:
    """An argparse `type=`: converts the text, then checks it lies in the domain."""

    def __init__(
        self, kind: str, convert: Callable[[str], Any], ok: Callable[[Any], bool], rule: str
    ):
        self.kind, self.convert, self.ok, self.rule = kind, convert, ok, rule
        self.__name__ = kind  # argparse names the type in some of its messages
        self.bad: list[str] = ["x"]

    def __call__(self, text: str) -> Any:
        try:
            value = self.convert(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"not {self.kind}: {shown(text)}") from None
        if not self.ok(value):
            raise argparse.ArgumentTypeError(f"must be {self.rule}, got {shown(text, quote=False)}")
        return value


def count(minimum: int = 1, maximum: int | None = None) -> Checker:
    """A whole number in [minimum, maximum]."""
    rule = f">= {minimum}" if maximum is None else f"{minimum} to {maximum}"
    check = Checker(
        "a whole number",
        int,
        lambda v: v >= minimum and (maximum is None or v <= maximum),
        rule,
    )
    check.bad += [str(minimum - 1), "1.5"] + ([str(maximum + 1)] if maximum is not None else [])
    return check


def real(
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
    below: float | None = None,
) -> Checker:
    """A finite number, >= minimum, > above, <= maximum, < below (each when given)."""
    bounds = {">=": minimum, ">": above, "<=": maximum, "<": below}
    tests = {
        ">=": lambda v, b: v >= b,
        ">": lambda v, b: v > b,
        "<=": lambda v, b: v <= b,
        "<": lambda v, b: v < b,
    }
    given = {op: b for op, b in bounds.items() if b is not None}

    def ok(v: float) -> bool:
        return math.isfinite(v) and all(tests[op](v, b) for op, b in given.items())

    rule = " and ".join(f"{op} {b:g}" for op, b in given.items()) or "a finite number"
    check = Checker("a number", float, ok, rule)
    nudge = {">=": -1, ">": 0, "<=": 1, "<": 0}
    check.bad += ["nan", "inf", *(f"{b + nudge[op]:g}" for op, b in given.items())]
    return check


def positive_quantity() -> Checker:
    """`700M`, `1.5G`, `3000000`: a count above 0 (for --max-macs and friends)."""
    check = Checker("a count", quantity, lambda v: math.isfinite(v) and v > 0, "> 0")
    check.bad += ["0", "1s"]
    return check


def shown(text: str, limit: int = 40, quote: bool = True) -> str:
    """The text as given (quoted unless it parsed as a number); a very long one cut in
    the middle, so that a 5,000-digit value is not echoed in full."""
    if len(text) > limit:
        return f"{text[:16]}...{text[-8:]} ({len(text)} characters)"
    return repr(text) if quote else text


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list of one or more names (`fuse_at,fuse_op`)."""
    items = tuple(t.strip() for t in text.split(","))
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected NAME,... with no empty name, got {shown(text)}")
    return items


names.bad = ["", "a,,b", "fuse_at,"]  # type: ignore[attr-defined]  (tests/cli/test_exit_codes)


POSITIVE = count(1)
NATURAL = count(0)
RATE = real(above=0)  # learning rates, temperatures, sigmas, seconds
WEIGHT = real(minimum=0)  # loss weights, decays, floors, tolerances
PROBABILITY = real(minimum=0, maximum=1)
FRACTION = real(minimum=0, below=1)  # [0, 1)
