"""The records the front end makes and everything after it keeps: a choice
(`ChoiceSpec`) and a cost constraint (`ConstraintSpec`), with the words they may hold.

They live in the kernel, not in `archc.dsl.program`, because the compiler's choice
table, decider, cost model and IR files, and the torch supernet, all hold them, and
none of those may depend on the front end (the import contracts in pyproject).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from archc.kernel.span import Span

REALISATIONS = ("elastic", "weighted", "gumbel", "sampled", "policy")
METRICS = ("macs", "params", "latency")


@dataclass(frozen=True)
class ChoiceSpec:
    """One decision. `domain` is a tuple, or a `Sym` when it depends on other choices."""

    name: str
    kind: str  # int, float, bool, str, op or input
    domain: Any
    realise: str
    default: Any
    span: Span

    @cached_property  # asked for every config enumerated; the spec is frozen
    def dependent(self) -> bool:
        """True when the domain depends on other choices (a `Sym`, or a list holding one)."""
        from archc.kernel.symbolic import is_symbolic

        return is_symbolic(self.domain)


@dataclass(frozen=True)
class ConstraintSpec:
    metric: str  # macs, params or latency
    device: str | None  # latency(cpu) -> "cpu"
    scope: str | None  # `in frame[1]` -> "frame[1]"; None = whole network
    op: str  # <=, <, >= or > (the checker rejects == and !=)
    bound: float  # MACs and params as counts; latency in milliseconds
    span: Span
