"""`archc sample FILE --n N`: random valid configs within cost limits, as JSON lines."""

from __future__ import annotations

import argparse
import json
import random

from archc.cli.common import CliFailure, load_space, quantity
from archc.compiler.space.space import Space

ATTEMPTS_PER_CONFIG = 2_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample", help="sample configs under cost limits",
        description="Print N random configs of FILE, one archc-config JSON document per line, "
                    "that satisfy --max-macs/--max-params and the file's own macs/params "
                    "constraints. Sampling is uniform per choice, then filtered; a clear "
                    "error is given when no config (or too few) can meet the limits.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--n", type=int, default=1, help="how many configs (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--max-macs", type=quantity, metavar="X", help="e.g. 300M or 1.2G")
    p.add_argument("--max-params", type=quantity, metavar="Y", help="e.g. 3M")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise CliFailure("--n must be at least 1")
    space = load_space(args.file)
    _check_feasible(space, args)
    rng = random.Random(args.seed)
    found = 0
    model = space.cost_model()
    for _ in range(args.n * ATTEMPTS_PER_CONFIG):
        config = space.sample(rng)
        cost = model(config)
        if _fits(space, config, cost, args):
            print(json.dumps({"format": "archc-config", "version": 1, "space": space.name,
                              "choices": dict(config)}))
            found += 1
            if found == args.n:
                return 0
    raise CliFailure(f"found only {found} of {args.n} configs within the limits after "
                     f"{args.n * ATTEMPTS_PER_CONFIG:,} samples; the limits admit few configs")


def _fits(space: Space, config, cost, args) -> bool:
    if args.max_macs is not None and cost.macs > args.max_macs:
        return False
    if args.max_params is not None and cost.params > args.max_params:
        return False
    return not space.violations(config, cost)


def _check_feasible(space: Space, args) -> None:
    """Fail early when even the cheapest config breaks a limit (or when no config can)."""
    rng = space.cost_range()
    for flag, limit, low, what in (("--max-macs", args.max_macs, rng.macs[0], "MACs"),
                                   ("--max-params", args.max_params, rng.params[0], "params")):
        if limit is not None and low > limit:
            raise CliFailure(f"no config of `{space.name}` has {what} <= {limit:,.0f} "
                             f"({flag}); the smallest possible is {low:,}")
