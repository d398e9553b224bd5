"""`build_supernet`: one module holding every op of a space at its largest, shared by all
configs; `set_active(config)` picks the subnet the next forwards compute. This module
plans and executes; what each op is in torch (plain and elastic module, largest sizes,
call, export) is its record in `archc.runtime.ops`.

Realisations of choices (from the file, overridable per name pattern):
- elastic: numeric choices slice shared weights (`archc.runtime.ops`);
- sampled / policy: a `choose` or `select` follows the active config (policy
  decisions are simply set from outside, by a controller);
- weighted: a `choose` mixes all candidates with softmax(alpha) (`scaled`:
  PoseNFS's |ops| * softmax; `sigmoid`: Fair-DARTS' independent sigmoid(alpha));
  gumbel: Gumbel-softmax with temperature `tau`.
Architecture parameters (alpha, one vector per mixed choice, shared by every
`choose` of that choice) are kept apart from the weights.

Two switches serve differentiable search drivers. `hard` (GDAS): in training,
each forward draws one candidate per Gumbel choice (straight-through
Gumbel-softmax) and computes that candidate's branch only, scaled by its hard
weight so that alpha still gets a gradient. `aux_skip` (DARTS-): each mixed op
adds `aux_skip` x its branch point (the op all candidates start from: the
immediate dominator of the `choose`) when the shapes agree.
"""

from __future__ import annotations

import fnmatch
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch
import torch.nn.functional as F
from torch import nn

from archc.compiler.backends.torch.build import build_module, module_at, name_segments, parent_dict
from archc.compiler.decide import upper_bound
from archc.compiler.ir import IRNode, active_nodes, facts, input_ids, taken_inputs
from archc.compiler.passes.derive_subnet import derive_subnet
from archc.compiler.space.darts_derive import darts_derive
from archc.compiler.space.space import Space
from archc.kernel.specs import REALISATIONS
from archc.kernel.symbolic import evaluate
from archc.runtime.ops.record import Largest, OpRecord
from archc.runtime.ops.record import get as record_of

MIXING = ("weighted", "scaled", "sigmoid", "gumbel")
EXTRA_REALISATIONS = ("scaled", "sigmoid")  # supernet-only, given with `realise`
PLANS = 256  # plans kept per supernet (most recently used); `plan_cache_size` changes it


@dataclass(frozen=True)
class Step:
    node: int
    kind: str  # op, select, choose, mix
    path: tuple[str, ...] | None  # elastic module, for ops with weights
    call: Any  # attrs (elastic) or a parameter-free module
    inputs: tuple[int, ...]
    choice: str | None = None
    branch: int | None = None  # mix: the branch point, for DARTS-' auxiliary skip
    record: OpRecord | None = None  # an op with weights: its record calls the module


class Supernet(nn.Module):
    def __init__(
        self, graph: nx.MultiDiGraph, realise: Mapping[str, str] | None = None, space=None
    ):
        super().__init__()
        self.graph = graph
        self.space = space if space is not None else Space(graph)  # cost-aware ends
        self.table = self.space.table  # one choice table: configs validate alike everywhere
        self.realisation = _realisations(graph, realise or {})
        self.net = nn.ModuleDict()
        self.arch = nn.ParameterDict()
        self.tau = 1.0  # Gumbel-softmax temperature (`archc.torch.GumbelTemperature` anneals it)
        self.hard = False  # straight-through Gumbel, one candidate per forward (GDAS)
        self.aux_skip = 0.0  # DARTS-: weight of the auxiliary skip around mixed ops
        self._gates: dict[str, torch.Tensor] = {}
        self._branches: dict[int, int | None] | None = None
        self.labels: dict[str, tuple] = {}  # candidates of each weighted/gumbel choice
        self.active: Any = None
        self._plans: OrderedDict[Any, list[Step]] = OrderedDict()
        self.plan_cache_size = PLANS
        self._plan: list[Step] | None = None
        # what every plan reads, computed once: the producers of each node, and the
        # parameter-free layers (one module per op, attributes and input shapes)
        self._inputs = {n: tuple(input_ids(graph, n)) for n in graph.nodes}
        self._free: dict[Any, nn.Module] = {}
        choices = {c.name: c for c in facts(graph).choices}
        for n in sorted(graph.nodes):
            node: IRNode = graph.nodes[n]["ir"]
            if node.kind == "op" and record_of(node.op).weighted:
                self._place(node, _largest(graph, n, choices))
            if node.kind == "choose" and self.realisation[node.attrs["choice"]] in MIXING:
                key = _key(node.attrs["choice"])
                if key not in self.arch:
                    self.arch[key] = nn.Parameter(torch.zeros(len(node.attrs["labels"])))
                    self.labels[node.attrs["choice"]] = tuple(node.attrs["labels"])

    # ---- parameters
    def arch_parameters(self):
        return self.arch.parameters()

    def weight_parameters(self):
        return self.net.parameters()

    def mixing_probabilities(self) -> dict[str, torch.Tensor]:
        """Each mixed choice's candidate weights as a distribution over its candidates:
        softmax(alpha), or sigmoid(alpha) for Fair-DARTS (independent, not normalised)."""
        return {
            c: (torch.sigmoid if self.realisation[c] == "sigmoid" else _softmax)(self.arch[_key(c)])
            for c in self.labels
        }

    # ---- modules
    def _place(self, node: IRNode, largest: Largest) -> None:
        path = name_segments(node.weight_name)
        holder = parent_dict(self.net, path)
        fresh = record_of(node.op).make_elastic(largest)
        if path[-1] in holder:
            holder[path[-1]] = _grow(holder[path[-1]], node, fresh)
        else:
            holder[path[-1]] = fresh

    def module_at(self, path: tuple[str, ...]) -> nn.Module:
        return module_at(self.net, path)

    # ---- configs
    def set_active(self, config: Mapping[str, Any]) -> None:
        """Select the subnet of `config` for the following forwards (plans are cached)."""
        config = self.table.validate(config)
        self._plan = self._cached(config, lambda: self._make_plan(config))
        self.active = config

    def sample_active(self, rng=None):
        config = self.table.sample(rng)
        self.set_active(config)
        return config

    def largest(self):
        """Activate and return the space's largest config (most MACs, `Space.largest`)."""
        config = self.space.largest()
        self.set_active(config)
        return config

    def smallest(self):
        """Activate and return the space's smallest config (fewest MACs)."""
        config = self.space.smallest()
        self.set_active(config)
        return config

    def _make_plan(self, config, gated: Mapping[str, int] | None = None) -> list[Step]:
        """The steps of `config`; `gated` choices (hard Gumbel) run the drawn candidate."""
        gated = gated or {}
        steps = []
        mixing = {c for c, how in self.realisation.items() if how in MIXING} - set(gated)
        config = dict(config) | {c: self.labels[c][i] for c, i in gated.items()}
        for n in active_nodes(self.graph, config, mixing, self._inputs):
            node: IRNode = self.graph.nodes[n]["ir"]
            inputs = self._inputs[n]
            if node.kind == "choose" and node.attrs["choice"] in gated:
                taken = inputs[gated[node.attrs["choice"]]]
                steps.append(
                    Step(
                        node.id,
                        "gate",
                        None,
                        gated[node.attrs["choice"]],
                        (taken,),
                        node.attrs["choice"],
                    )
                )
                continue
            steps.append(self._step(node, inputs, config))
        return [s for s in steps if s is not None]

    def _gated_plan(self) -> list[Step]:
        """Hard Gumbel: draw one candidate per Gumbel choice (straight-through weights
        kept for the gates) and return the plan computing only those."""
        gumbel = [c for c in self.labels if self.realisation[c] == "gumbel"]
        self._gates = {
            c: F.gumbel_softmax(self.arch[_key(c)], tau=self.tau, hard=True) for c in gumbel
        }
        drawn = {c: int(torch.argmax(g.detach())) for c, g in self._gates.items()}
        key = (self.active, tuple(sorted(drawn.items())))
        return self._cached(key, lambda: self._make_plan(self.active, drawn))

    def _cached(self, key: Any, make) -> list[Step]:
        """The plan under `key`, made once and kept among the `plan_cache_size` most
        recently used: a search activates thousands of configs (and hard Gumbel draws
        rarely repeat), and every plan kept forever grew memory without bound."""
        plans = self._plans
        if key in plans:
            plans.move_to_end(key)
        else:
            plans[key] = make()
            while len(plans) > max(1, self.plan_cache_size):
                plans.popitem(last=False)
        return plans[key]

    def _branch_point(self, node: IRNode, config) -> int | None:
        """The immediate dominator of a `choose` when its shape is the choose's."""
        if self._branches is None:
            self._branches = _dominators(self.graph)
        branch = self._branches.get(node.id)
        if branch is None:
            return None
        same = evaluate(self.graph.nodes[branch]["ir"].shape, config) == evaluate(
            node.shape, config
        )
        return branch if same else None

    def _step(self, node: IRNode, inputs: tuple[int, ...], config) -> Step | None:
        if node.kind == "input":
            return None
        if node.kind == "choose" and self.realisation[node.attrs["choice"]] in MIXING:
            choice, branch = node.attrs["choice"], self._branch_point(node, config)
            return Step(node.id, "mix", None, self.realisation[choice], inputs, choice, branch)
        if node.kind in ("select", "choose"):
            return Step(node.id, "select", None, None, tuple(taken_inputs(node, inputs, config)))
        attrs = {k: evaluate(v, config) for k, v in node.attrs.items()}
        record = record_of(node.op)
        if record.weighted:
            path = name_segments(node.weight_name)
            return Step(node.id, "op", path, attrs, inputs, record=record)
        shapes = [evaluate(self.graph.nodes[i]["ir"].shape, config) for i in inputs]
        return Step(node.id, "op", None, self._free_layer(record, attrs, shapes), inputs)

    def _free_layer(self, record: OpRecord, attrs: dict, shapes: list) -> nn.Module:
        """The parameter-free module of an op (its record's `plain`), shared by every plan
        that needs the same one (building one per node and plan was a third of a cold
        `set_active`)."""
        try:
            key = (record.name, tuple(sorted(attrs.items())), tuple(map(tuple, shapes)))
            hash(key)
        except TypeError:  # an attribute that is not hashable: build it for this plan
            return record.plain(attrs, shapes).train(self.training)
        layer = self._free.get(key)
        if layer is None:
            layer = self._free[key] = record.plain(attrs, shapes).train(self.training)
        return layer

    def free_layers(self) -> list[nn.Module]:
        """The shared parameter-free layers (kept outside `self.net`: they hold nothing
        to save), for what must reach every layer: train/eval mode, drop-path rates."""
        return list(self._free.values())

    def train(self, mode: bool = True) -> Supernet:
        super().train(mode)
        for layer in self._free.values():
            layer.train(mode)  # dropout and drop-path act in training only
        return self

    # ---- running
    def forward(self, *args: torch.Tensor, **kwargs: torch.Tensor):
        if self._plan is None:
            raise RuntimeError(
                "call set_active(config) (or sample_active/largest/smallest) "
                "before running the supernet"
            )
        values = _bind(self.graph, args, kwargs)
        plan = self._plan
        if self.hard and self.training and any(h == "gumbel" for h in self.realisation.values()):
            plan = self._gated_plan()
        for step in plan:
            values[step.node] = self._run(step, values)
        outputs = facts(self.graph).outputs
        if len(outputs) == 1:
            return values[next(iter(outputs.values()))]
        return {name: values[n] for name, n in outputs.items()}

    def _run(self, step: Step, values: dict[int, torch.Tensor]) -> torch.Tensor:
        xs = [values[i] for i in step.inputs]
        if step.kind == "select":
            return xs[0]
        if step.kind == "gate":
            return self._gates[step.choice][step.call] * xs[0]
        if step.kind == "mix":
            tau = self.tau if self.training else None  # eval: the plain softmax, no noise
            out = _mix(self.arch[_key(step.choice)], step.call, xs, tau)
            if self.aux_skip and step.branch is not None:
                out = out + self.aux_skip * values[step.branch]
            return out
        if step.record is None:
            return step.call(*xs)
        return step.record.call(self.module_at(step.path), step.call, xs)

    # ---- derivation
    def argmax_config(self, config: Mapping[str, Any] | None = None):
        """`config` (default: the active one, else the defaults) with every weighted or
        Gumbel choice set to its strongest candidate, argmax of alpha (DARTS derivation)."""
        base = dict(config if config is not None else self.active or self.table.default())
        for choice, labels in self.labels.items():
            base[choice] = labels[int(torch.argmax(self.arch[_key(choice)]))]
        return self.table.validate(base)

    def darts_config(self, config: Mapping[str, Any] | None = None, k: int = 2):
        """`config` with DARTS's derivation of the mixed choices: per cell node the `k`
        edges (choices `name[j, t]`) whose best non-`none` candidate weighs most, at that
        candidate, the other edges `none`; other mixed choices at their argmax. Returns
        (config, kept edges per node); see `archc.compiler.space.darts_derive`."""
        base = dict(config if config is not None else self.active or self.table.default())
        with torch.no_grad():
            probs = {c: p.tolist() for c, p in self.mixing_probabilities().items()}
        decisions, kept = darts_derive(probs, self.labels, k)
        return self.table.validate(base | decisions), kept

    def derive(self, config: Mapping[str, Any] | None = None, *, argmax: bool = False) -> nn.Module:
        """A standalone module of `config`'s subnet with the supernet's weights copied in.
        Weighted choices take the config's candidate, or argmax of alpha with `argmax`."""
        if config is None and self.active is None:
            raise ValueError("derive() needs a config (or an active one: call set_active)")
        config = (
            self.argmax_config(config)
            if argmax
            else self.table.validate(config if config is not None else self.active)
        )
        derived = derive_subnet(self.graph, config)
        module = build_module(derived)
        for n, path, _ in module._plan:
            source = module.weight_sources.get(path, path)
            if self.graph_has_weights(source):
                record = record_of(derived.nodes[n]["ir"].op)
                record.export(self.module_at(source), module.module_at(path))
        return module

    def graph_has_weights(self, path: tuple[str, ...]) -> bool:
        try:
            self.module_at(path)
        except KeyError:
            return False
        return True


def _softmax(alpha: torch.Tensor) -> torch.Tensor:
    return torch.softmax(alpha, dim=0)


def _dominators(graph) -> dict[int, int | None]:
    """choose node -> its immediate dominator from the inputs (None: only the root)."""
    flow = nx.DiGraph(list(graph.edges()))
    root = object()
    flow.add_edges_from((root, n) for n in facts(graph).inputs.values())
    idom = nx.immediate_dominators(flow, root)
    return {
        n: (idom[n] if idom.get(n) is not root else None)
        for n in graph.nodes
        if graph.nodes[n]["ir"].kind == "choose" and n in idom
    }


def _mix(alpha: torch.Tensor, how: str, xs: list, tau: float | None) -> torch.Tensor:
    if how == "gumbel" and tau is not None:
        weights = F.gumbel_softmax(alpha, tau=tau)
    elif how == "sigmoid":
        weights = torch.sigmoid(alpha)
    else:
        weights = torch.softmax(alpha, dim=0)
    if how == "scaled":
        weights = weights * len(xs)
    out = weights[0] * xs[0]
    for w, x in zip(weights[1:], xs[1:], strict=True):
        out = out + w * x
    return out


def _grow(existing: nn.Module, node: IRNode, fresh: nn.Module) -> nn.Module:
    """Nodes sharing weights must fit one allocation: refuse silent mismatches."""
    if any(
        a.shape != b.shape for a, b in zip(existing.parameters(), fresh.parameters(), strict=True)
    ):
        raise ValueError(
            f"`{node.name}` shares weights with `{node.weight_name}` but needs "
            "a different largest size"
        )
    return existing


def _largest(graph, n: int, choices) -> Largest:
    """What a record's `max_sizes` reads of node `n`: its attributes and shapes, and the
    largest value of an expression over all configs (`upper_bound`)."""
    node: IRNode = graph.nodes[n]["ir"]
    source: IRNode = graph.nodes[input_ids(graph, n)[0]]["ir"]
    return Largest(
        node.attrs,
        source.shape,
        source.max_shape,
        node.shape,
        node.max_shape,
        lambda value: upper_bound(value, choices)[0],
    )


def _realisations(graph, overrides: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for spec in facts(graph).choices:
        how = spec.realise
        for pattern, value in overrides.items():
            if fnmatch.fnmatchcase(spec.name, pattern):
                how = value
        if how not in (*REALISATIONS, *EXTRA_REALISATIONS):
            raise ValueError(f"unknown realisation {how!r} for `{spec.name}`")
        out[spec.name] = how
    return out


def _bind(graph, args, kwargs) -> dict[int, torch.Tensor]:
    names = list(facts(graph).inputs)
    named = dict(zip(names, args, strict=False)) | dict(kwargs)
    if set(named) != set(names):
        raise TypeError(f"expected inputs {names}")
    return {facts(graph).inputs[k]: v for k, v in named.items()}


def _key(choice: str) -> str:
    return choice.replace(".", "/")


def build_supernet(space_or_graph: Any, realise: Mapping[str, str] | None = None) -> Supernet:
    """The supernet of a space; `realise` maps choice-name patterns to realisations."""
    if isinstance(space_or_graph, nx.Graph):
        return Supernet(space_or_graph, realise)
    return Supernet(space_or_graph.graph, realise, space_or_graph)
