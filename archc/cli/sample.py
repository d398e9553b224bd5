"""`archc sample FILE --n N`: random valid configs within cost limits, as JSON lines."""

from __future__ import annotations

import argparse
import json
import random
import sys

from archc.cli import values
from archc.cli.common import CliFailure, load_space


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="sample configs under cost limits",
        description="Print N random configs of FILE, one archc-config JSON document per line, "
        "that satisfy --max-macs/--max-params and the file's own macs/params "
        "constraints. Sampling is uniform per choice, then filtered; when the "
        "limits admit few configs, random mutations repair a draw until it "
        "meets them (such configs lie near the limits; see docs/compiler.md). "
        "A clear error is given when no config (or too few) can meet them.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--n", type=values.POSITIVE, default=1, help="how many configs (default 1)")
    p.add_argument("--seed", type=values.NATURAL, default=0, help="random seed (default 0)")
    p.add_argument(
        "--max-macs", type=values.positive_quantity(), metavar="X", help="e.g. 300M or 1.2G"
    )
    p.add_argument("--max-params", type=values.positive_quantity(), metavar="Y", help="e.g. 3M")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # imported here: `archc check` imports every command module and needs none of these
    from archc.compiler.space.sampling import DRAWS, STEPS, WALKS, Sampler, limits_of

    space = load_space(args.file, args.defines)
    _check_feasible(space, args)
    sampler = Sampler(space, limits_of(space, args.max_macs, args.max_params))
    rng = random.Random(args.seed)
    for found in range(args.n):
        config = sampler(rng)
        if config is None:
            raise CliFailure(
                f"found only {found} of {args.n} configs within the limits "
                f"({DRAWS} uniform draws and {WALKS} repair walks of up to "
                f"{STEPS:,} mutations per config); the limits admit very few "
                "configs, or none"
            )
        print(
            json.dumps(
                {
                    "format": "archc-config",
                    "version": 1,
                    "space": space.name,
                    "choices": dict(config),
                }
            ),
            flush=True,
        )
    if sampler.repaired:
        print(
            f"note: {sampler.repaired} of {args.n} configs came from repair walks, not "
            "uniform draws: the limits admit few configs, and such configs lie near them",
            file=sys.stderr,
        )
    return 0


def _check_feasible(space, args) -> None:
    """Fail early when even the cheapest config breaks a limit (or when no config can)."""
    rng = space.cost_range()
    for flag, limit, low, what in (
        ("--max-macs", args.max_macs, rng.macs[0], "MACs"),
        ("--max-params", args.max_params, rng.params[0], "params"),
    ):
        if limit is not None and low > limit:
            raise CliFailure(
                f"no config of `{space.name}` has {what} <= {limit:,.0f} "
                f"({flag}); the smallest possible is {low:,}"
            )
