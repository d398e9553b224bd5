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

from archc.compiler.cost.count import Cost
from archc.compiler.cost.extremes import TooLarge, cost_extremes
from archc.compiler.cost.latency_model import LatencyModel
from archc.compiler.cost.latency_table import LatencyTable, as_table
from archc.compiler.cost.model import CostModel
from archc.compiler.decide import upper_bound
from archc.compiler.ir import facts
from archc.compiler.passes.derive_subnet import derive_subnet
from archc.compiler.space.canonical import Relevance, count_architectures
from archc.compiler.space.config import Config
from archc.compiler.space.ends import End, find_end
from archc.compiler.space.sampling import DRAWS, WALKS, Sampler, limits_of
from archc.compiler.space.table import ChoiceTable, Rng, make_rng
from archc.kernel.specs import ConstraintSpec

if TYPE_CHECKING:
    from archc.compiler.cost.batch import CostBatch

MAX_EXACT_RANGE = 200_000  # configs enumerated for exact cost extremes
MAX_LATENCY_MODELS = 8  # (latency table, scope) pairs whose models a Space keeps


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
    """One compiled search space (or fixed network): the contract between the compiler
    and everything that searches, trains or deploys it.

    A search driver needs only this class: draw configs (`sample`, `sample_within`,
    `mutate`, `crossover`, all valid by construction, dependent domains repaired),
    name them (`validate`, `canonical`, `encode`/`decode` to integer vectors), judge
    them (`cost` for one, `cost_many` for a population, `feasible` and `violations`
    against the file's constraints and extra limits, `largest`/`smallest`/
    `cost_range` for the ends), and turn one into a network (`derive`, and
    `archc.torch.build_supernet(space)`, which shares this space's choice table).
    Everything is exact (the cost model equals the reference walk `count_cost`)
    and nothing here imports torch. Cost models are built on first use and kept.
    """

    def __init__(self, graph: nx.MultiDiGraph):
        self.graph = graph
        self.name: str = facts(graph).name
        self.table = ChoiceTable(facts(graph).choices, self.name)
        self._models: dict[tuple[str, str | None], CostModel] = {}
        self._batch: dict[tuple[str, str | None], Any] = {}  # batch.BatchCostModel
        self._latency: dict[tuple[int, str | None], LatencyModel] = {}
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
        return tuple(facts(self.graph).constraints)

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

    def mutate(
        self, config: Mapping[str, Any], seed: Rng = None, prob: float | None = None
    ) -> Config:
        """A valid neighbour of `config`: each choice re-drawn with probability `prob`
        (default one over the number of choices); a value its parents' change put out
        of its domain is re-sampled (see `variation`)."""
        return self.table.mutate(config, seed, prob)

    def crossover(self, a: Mapping[str, Any], b: Mapping[str, Any], seed: Rng = None) -> Config:
        """A valid child of `a` and `b`: each choice from one parent at random, repaired
        as `mutate` does where the other parent's values make it invalid."""
        return self.table.crossover(a, b, seed)

    def feasible(
        self,
        config: Mapping[str, Any],
        max_macs: float | None = None,
        max_params: float | None = None,
        lut: LatencyTable | str | os.PathLike | None = None,
    ) -> bool:
        """Whether `config` meets the file's constraints and the limits given (the
        limits `sample_within` draws under; latency ones only with a latency table)."""
        sampler = Sampler(self, limits_of(self, max_macs, max_params, lut), lut)
        return not sampler.excess(self.validate(config))

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
        return replace(cost, latency_ms=self.latency_model(lut)(config))

    def cost_many(
        self,
        configs: Sequence[Mapping[str, Any] | None],
        *,
        convention: str = "true",
        lut: LatencyTable | str | os.PathLike | None = None,
    ) -> CostBatch:
        """`Space.cost` of many configs at once, exactly, as read-only arrays in the
        configs' order (`cost.batch.CostBatch`): numpy gathers over the cost model's
        tables, tens of times faster than one `cost` call per config. Terms too large
        to tabulate are still summed per config, so those spaces gain less. Latency
        is gathered the same way from the latency model's tables (`latency_model`).
        A bad config raises the error `cost` raises for it (the first bad one in
        order)."""
        from archc.compiler.cost.batch import BatchCostModel, CostBatch

        configs = list(configs)
        key = (convention, None)
        model = self.cost_model(convention)
        if self._batch.get(key) is None or self._batch[key].model is not model:
            self._batch[key] = BatchCostModel(model, self.table)
        rows, codes = self._batch[key].encode(configs)
        params, macs = self._batch[key].costs(rows, codes)
        if lut is None:
            return CostBatch(params, macs)
        latency = self._batch[key].latency(self.latency_model(lut), rows, codes)
        return CostBatch(params, macs, latency)

    def latency_model(
        self, lut: LatencyTable | str | os.PathLike, scope: str | None = None
    ) -> LatencyModel:
        """The (cached) latency model of a latency table (read once from a path), over
        the units inside `scope` when one is given (then without the call overhead)."""
        table = as_table(lut)
        key = (id(table), scope)
        hit = self._latency.get(key)
        if hit is None or hit.table is not table:
            if len(self._latency) >= MAX_LATENCY_MODELS:
                self._latency.clear()
            model = self.cost_model()
            hit = LatencyModel(self.graph, table, model.activity, model.values, scope)
            self._latency[key] = hit
        return hit

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
            cost = replace(cost, latency_ms=self.latency_model(lut)(config))
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
        value = self.latency_model(lut, c.scope)(config) if c.scope else cost.latency_ms
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
