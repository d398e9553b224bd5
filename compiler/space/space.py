"""`Space`: one compiled search space (or fixed network) and everything a search asks of it.

It joins the two halves: the choice table (sampling, validation, counting,
encoding) and the IR (cost, derivation, pictures, JSON). `archc.load(path)`
is the usual way to get one. Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import networkx as nx

from archc.compiler.cost_model import CostModel
from archc.compiler.decide import upper_bound
from archc.compiler.extremes import TooLarge, cost_extremes
from archc.compiler.latency_table import LatencyTable, as_table
from archc.compiler.passes.count_cost import Cost
from archc.compiler.passes.derive_subnet import derive_subnet
from archc.compiler.space.canonical import Relevance, count_architectures
from archc.compiler.space.config import Config
from archc.compiler.space.ends import End, find_end
from archc.compiler.space.sampling import DRAWS, WALKS, Sampler, limits_of
from archc.compiler.space.table import ChoiceTable, Rng, make_rng
from archc.dsl.program import ConstraintSpec

if TYPE_CHECKING:
    from archc.compiler.cost_batch import CostBatch

MAX_EXACT_RANGE = 200_000  # configs enumerated for exact cost extremes


@dataclass(frozen=True)
class CostRange:
    """Smallest and largest params and MACs over all valid configs, each exact or bounds."""

    params: tuple[int, int]
    macs: tuple[int, int]
    params_exact: bool
    macs_exact: bool

    @property
    def exact(self) -> bool:
        return self.params_exact and self.macs_exact


class Space:
    def __init__(self, graph: nx.MultiDiGraph):
        self.graph = graph
        self.name: str = graph.graph["name"]
        self.table = ChoiceTable(graph.graph["choices"], self.name)
        self._models: dict[tuple[str, str | None], CostModel] = {}
        self._batch: dict[tuple[str, str | None], Any] = {}  # cost_batch.BatchCostModel
        self._ends: dict[str, End] = {}
        self._relevant: Relevance | None = None
        self._architectures: tuple[int, bool] | None = None

    def __repr__(self) -> str:
        nodes = self.graph.number_of_nodes()
        return f"Space({self.name!r}, {len(self.table)} choices, {nodes} nodes)"

    # ---- the choice table
    @property
    def choices(self):
        return self.table.choices

    @property
    def constraints(self) -> tuple[ConstraintSpec, ...]:
        return tuple(self.graph.graph.get("constraints", ()))

    def validate(self, config: Mapping[str, Any]) -> Config:
        return self.table.validate(config)

    def sample(self, seed: Rng = None) -> Config:
        return self.table.sample(seed)

    def sample_within(
        self,
        seed: Rng = None,
        max_macs: float | None = None,
        max_params: float | None = None,
        lut: LatencyTable | str | os.PathLike | None = None,
    ) -> Config:
        """A random config that meets the file's constraints and the limits given
        (latency constraints only with a latency table): uniform draws first, then
        repair walks when the limits admit few configs (see `sampling`). Raises
        `ValueError` when none is found."""
        sampler = Sampler(self, limits_of(self, max_macs, max_params, lut), lut)
        config = sampler(make_rng(seed))
        if config is None:
            raise ValueError(
                f"no config of `{self.name}` within the limits was found "
                f"({DRAWS} draws and {WALKS} repair walks)"
            )
        return config

    def largest(self) -> Config:
        """The config with the most MACs (ties: most params), the top of `cost_range`:
        what the sandwich rule trains and `--largest` selects (see `ends`)."""
        return self.end("largest").config

    def smallest(self) -> Config:
        """The config with the fewest MACs (ties: fewest params), the bottom of `cost_range`."""
        return self.end("smallest").config

    def end(self, which: str) -> End:
        """The "largest" or "smallest" config, and whether it is provably the end (it is
        the best found by a local search when some cost terms cannot be tabulated)."""
        if which not in self._ends:
            self._ends[which] = find_end(self, which, MAX_EXACT_RANGE)
        return self._ends[which]

    def default(self) -> Config:
        return self.table.default()

    def size(self) -> int:
        """The number of valid configs (see `architectures` for distinct networks)."""
        return self.table.size()

    def canonical(self, config: Mapping[str, Any]) -> Config:
        """`config` with the choices its network does not read at their defaults: equal
        canonical forms build the same network (see `canonical`)."""
        return self._relevance().canonical(config)

    def architectures(self) -> tuple[int, bool]:
        """(distinct networks, exact?): the number of canonical configs, or the number
        of configs, a bound, where counting them would need too large a table."""
        if self._architectures is None:
            try:
                model = self.cost_model()
                count = count_architectures(self._relevance(), model.activity, model.choices)
                self._architectures = (count, True)
            except TooLarge:
                self._architectures = (self.size(), False)
        return self._architectures

    def _relevance(self) -> Relevance:
        if self._relevant is None:
            self._relevant = Relevance(self.graph, self.table)
        return self._relevant

    def encode(self, config: Mapping[str, Any]) -> list[int]:
        return self.table.encode(config)

    def decode(self, vector, clip: bool = False) -> Config:
        return self.table.decode(vector, clip=clip)

    # ---- cost
    def cost_model(self, convention: str = "true", scope: str | None = None) -> CostModel:
        """The (cached) cost model; `scope` restricts it to the ops inside one scope."""
        if convention not in ("true", "hrnet"):
            raise ValueError(f"unknown MAC convention {convention!r}; use 'true' or 'hrnet'")
        key = (convention, scope)
        if key not in self._models:
            self._models[key] = CostModel(self.graph, convention, scope)
        return self._models[key]

    def cost(
        self,
        config: Mapping[str, Any] | None = None,
        convention: str = "true",
        lut: LatencyTable | str | os.PathLike | None = None,
    ) -> Cost:
        """Params and MACs of `config` (validated; none needed for a fixed network), and
        its predicted latency in ms when a latency table (`archc lut`) is given."""
        config = self.validate(config or {})
        cost = self.cost_model(convention)(config)
        if lut is None:
            return cost
        return replace(cost, latency_ms=as_table(lut).predict(self.graph, config))

    def cost_many(
        self,
        configs: Sequence[Mapping[str, Any] | None],
        *,
        convention: str = "true",
        lut: LatencyTable | str | os.PathLike | None = None,
    ) -> CostBatch:
        """`Space.cost` of many configs at once, exactly, as read-only arrays in the
        configs' order (`cost_batch.CostBatch`): numpy gathers over the cost model's
        tables, tens of times faster than one `cost` call per config. Terms too large
        to tabulate are still summed per config, and latency is predicted per config
        (`LatencyTable.predict`), so those spaces, and a latency table, gain less.
        A bad config raises the error `cost` raises for it (the first bad one in
        order)."""
        import numpy as np

        from archc.compiler.cost_batch import BatchCostModel, CostBatch

        configs = list(configs)
        key = (convention, None)
        model = self.cost_model(convention)
        if self._batch.get(key) is None or self._batch[key].model is not model:
            self._batch[key] = BatchCostModel(model, self.table)
        params, macs = self._batch[key](configs)
        if lut is None:
            return CostBatch(params, macs)
        table = as_table(lut)
        latency = [table.predict(self.graph, self.validate(c or {})) for c in configs]
        return CostBatch(params, macs, np.array(latency, dtype=np.float64))

    def violations(
        self,
        config: Mapping[str, Any],
        cost: Cost | None = None,
        lut: LatencyTable | str | os.PathLike | None = None,
    ) -> list[str]:
        """The file's constraints that `config` breaks, as messages. Latency constraints
        are checked only with a latency table (from `lut`, or in `cost.latency_ms`)."""
        cost = cost or self.cost(config, lut=lut)
        if lut is not None and cost.latency_ms is None:
            cost = replace(cost, latency_ms=as_table(lut).predict(self.graph, config))
        out = []
        for c in self.constraints:
            if c.metric == "latency":
                out += self._latency_violation(c, config, cost, lut)
                continue
            scoped = self.cost_model(scope=c.scope)(config) if c.scope else cost
            value = scoped.macs if c.metric == "macs" else scoped.params
            if not _holds(value, c.op, c.bound):
                where = f" in {c.scope}" if c.scope else ""
                out.append(
                    f"{c.metric}{where} = {value:,} breaks "
                    f"`{c.metric}{where} {c.op} {c.bound:,.0f}`"
                )
        return out

    def _latency_violation(self, c: ConstraintSpec, config, cost: Cost, lut) -> list[str]:
        if cost.latency_ms is None or (c.scope and lut is None):
            return []  # no table: a latency budget can only be checked against one
        value = as_table(lut).predict(self.graph, config, c.scope) if c.scope else cost.latency_ms
        where = f" in {c.scope}" if c.scope else ""
        if _holds(value, c.op, c.bound):
            return []
        return [
            f"latency({c.device}){where} = {value:.2f} ms breaks "
            f"`latency({c.device}){where} {c.op} {c.bound:g}ms`"
        ]

    def cost_range(self, convention: str = "true") -> CostRange:
        """Exact extremes: by enumeration for small spaces, else by variable elimination
        over the cost tables; per-group bounds (marked inexact) if both are too big."""
        model = self.cost_model(convention)
        if self.size() <= MAX_EXACT_RANGE:
            costs = [model(c) for c in self.table.configs()]
            return CostRange(
                (min(c.params for c in costs), max(c.params for c in costs)),
                (min(c.macs for c in costs), max(c.macs for c in costs)),
                True,
                True,
            )
        bounds = _group_bounds(model)
        exact = {}
        for metric in ("params", "macs"):
            with contextlib.suppress(TooLarge):  # bounds, then
                exact[metric] = cost_extremes(model, model.choices, metric)
        return CostRange(
            exact.get("params", bounds.params),
            exact.get("macs", bounds.macs),
            "params" in exact,
            "macs" in exact,
        )

    # ---- files
    def to_json(self) -> dict:
        """The versioned IR document (see `archc.compiler.serialize`)."""
        from archc.compiler.serialize import ir_to_json

        return ir_to_json(self.graph)

    def save_ir(self, path: str | os.PathLike) -> None:
        from archc.compiler.serialize import save_ir

        save_ir(self.graph, path)

    # ---- derivation
    def derive(self, config: Mapping[str, Any]) -> Space:
        """The fixed network `config` selects, as a space with no choices."""
        return Space(derive_subnet(self.graph, self.validate(config)))


def _holds(value: float, op: str, bound: float) -> bool:
    return {"<=": value <= bound, "<": value < bound, ">=": value >= bound, ">": value > bound}[op]


def _group_bounds(model: CostModel) -> CostRange:
    """Sum of each table's extremes: exact when no two tables share a choice."""
    lo_p = hi_p = model.constant.params
    lo_m = hi_m = model.constant.macs
    for _, table in model.tables:
        lo_p += min(p for p, _ in table.values())
        hi_p += max(p for p, _ in table.values())
        lo_m += min(m for _, m in table.values())
        hi_m += max(m for _, m in table.values())
    for _, params, macs in model.direct:  # too many choices to tabulate: 0 .. an upper bound
        hi_p += upper_bound(params, model.choices)[0]
        hi_m += upper_bound(macs, model.choices)[0]
    hi_p += sum(group.max_params() for group in model.shared)  # 0 .. all diverging
    names = [set(n) for n, _ in model.tables]
    disjoint = all(not (a & b) for a, b in itertools.combinations(names, 2))
    exact = disjoint and not model.direct
    return CostRange((lo_p, hi_p), (lo_m, hi_m), exact and not model.shared, exact)


def load_ir(path: str | os.PathLike) -> Space:
    """A space from an IR file written by `archc compile` or `Space.save_ir` (verified)."""
    from archc.compiler.passes.verify import verify
    from archc.compiler.serialize import load_ir as read

    graph = read(path)
    verify(graph)
    return Space(graph)
