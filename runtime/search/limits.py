"""The limits a search works within, and the check that they can be met at all.

Limits are the file's `constraint`s (per scope too) and the command line's
`--max-macs`, `--max-params`, `--max-latency`. Before any supernet or data is
loaded, a limit that no config can meet is reported with the smallest (or
largest) cost the space can reach, read off the exact cost range the
compiler computes (peers loop forever here, or give up silently after N
draws). A latency limit needs a latency table (`archc lut`): without one it
could not be checked, so it is an error, not a limit quietly dropped.
"""

from __future__ import annotations

import operator
import os
from typing import Any

from archc.compiler.space.sampling import Limit, Sampler, limits_of
from archc.runtime.search.strategies.base import Feasibility, SearchError

_UNITS = {"macs": "MACs", "params": "params"}


def search_limits(
    space: Any,
    max_macs: float | None = None,
    max_params: float | None = None,
    max_latency: float | None = None,
    lut: str | os.PathLike | None = None,
) -> tuple[Limit, ...]:
    """Every limit of a search; latency ones only with a table (else an error)."""
    if lut is None:
        latency = [c for c in space.constraints if c.metric == "latency"]
        if max_latency is not None:
            raise SearchError("--max-latency needs --lut TABLE (a latency table: `archc lut`)")
        if latency:
            c = latency[0]
            raise SearchError(
                f"`{space.name}` constrains latency({c.device}) {c.op} {c.bound:g}ms; give "
                "--lut TABLE (a latency table of this CPU: `archc lut`) to search under it"
            )
    table = None if lut is None else _table(lut)
    limits = limits_of(space, max_macs, max_params, table)
    if max_latency is not None:
        limits += (Limit("latency", "<=", max_latency),)
    return limits


def _table(lut: str | os.PathLike) -> Any:
    from archc.compiler.cost.latency_table import as_table

    try:
        return as_table(lut)
    except (OSError, ValueError) as err:
        raise SearchError(f"{lut}: {err}") from None


def check_reachable(space: Any, limits: tuple[Limit, ...]) -> None:
    """Refuse a MAC or parameter limit beyond the space's exact cost range."""
    needed = [x for x in limits if x.metric in _UNITS and x.scope is None]
    if not needed:
        return
    reach = space.cost_range()
    for limit in needed:
        low, high = reach.macs if limit.metric == "macs" else reach.params
        exact = reach.macs_exact if limit.metric == "macs" else reach.params_exact
        upper = limit.op in ("<=", "<")
        end = low if upper else high
        compare = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
        if not compare[limit.op](end, limit.bound):
            what = "smallest" if upper else "largest"
            bound = "" if exact else " (a bound: the space's exact range is not known)"
            raise SearchError(
                f"no config of `{space.name}` has {_UNITS[limit.metric]} {limit.op} "
                f"{limit.bound:,.0f}: the {what} achievable is {end:,}{bound}"
            )


def feasibility(space: Any, limits: tuple[Limit, ...], lut: Any = None) -> Feasibility:
    """Draws within `limits`, after checking they can be met."""
    check_reachable(space, limits)
    table = None if lut is None else _table(lut)
    return Feasibility(space, Sampler(space, limits, table))
