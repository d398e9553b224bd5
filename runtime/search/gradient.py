"""`run_gradient_search`: differentiable architecture search (DARTS, PoseNFS sync,
GDAS/AutoPose Gumbel, EfficientPose's cost term) from options to `best/`.

The search *is* a training run: `fit` runs `DifferentiableStep` with every
service of `archc train` (schedules, validation, atomic checkpoints, exact
resume after kill -9, NaN refusal). The run folder therefore holds what a
training run holds (config.json, metrics.jsonl, checkpoints/, last/best
weights of the supernet) plus alphas.jsonl and alphas.png (the architecture's
path), best.json and best/ (the derived subnet: config, BN-recalibrated
weights, ONNX, picture). See docs/search.md.

Cheap checks come first: the strategy must apply to the space (it has mixed
choices), the cost target must be reachable, options must be sane; only then
is data loaded.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archc.compiler.ir import facts
from archc.compiler.space.darts_derive import DerivationError
from archc.compiler.space.sampling import Limit
from archc.kernel.files import write_atomic
from archc.runtime.search import alphas as alpha_log
from archc.runtime.search.cost_loss import CostTerm
from archc.runtime.search.gradient_options import GradientOptions
from archc.runtime.search.limits import check_reachable, search_limits
from archc.runtime.search.strategies import SearchError

BEST = "best.json"


@dataclass
class GradientResult:
    folder: Path
    records: list[dict[str, Any]]
    config: Any  # the derived config
    best: dict[str, Any]
    outputs: dict[str, Any]


def mixed_choices(supernet: Any, strategy: str) -> list[str]:
    """The choices the strategy optimises, or a SearchError that says what to do."""
    mixed = sorted(supernet.labels)
    if strategy == "reinforce":
        policy = [c for c, how in supernet.realisation.items() if how == "policy"]
        if not policy:
            found = ", ".join(f"{c} ({how})" for c, how in supernet.realisation.items())
            raise SearchError(
                f"--strategy reinforce samples `policy` choices; found {found}. Realise "
                "some with --realise 'PATTERN=policy'"
            )
        return policy
    gumbel = [c for c in mixed if supernet.realisation[c] == "gumbel"]
    if strategy == "gumbel" and not gumbel:
        found = ", ".join(f"{c} ({supernet.realisation[c]})" for c in supernet.realisation)
        raise SearchError(
            f"--strategy gumbel needs choices realised `gumbel`; found {found or 'none'}. "
            "Realise some with --realise 'PATTERN=gumbel'"
        )
    if not mixed:
        found = ", ".join(f"{c} ({how})" for c, how in supernet.realisation.items())
        name = facts(supernet.graph).name
        raise SearchError(
            f"--strategy {strategy} optimises weighted or Gumbel choices; `{name}` "
            f"has only {found}. Realise some with --realise 'PATTERN=weighted' (a choice "
            "between candidate ops; numeric choices stay elastic)"
        )
    return mixed


def cost_target(space: Any, options: GradientOptions, limits: tuple[Limit, ...]) -> float | None:
    """lambda's target: --cost-target, else the limit on the cost metric; checked
    against the space's reach (a target below the smallest cost is named)."""
    if options.cost_weight == 0:
        return None
    metric = "latency" if options.cost == "latency_ms" else options.cost
    target = options.cost_target
    if target is None:
        bounds = [x.bound for x in limits if x.metric == metric and x.scope is None]
        if not bounds:
            raise SearchError(
                f"a cost term (--cost-weight {options.cost_weight:g}) needs a target: "
                f"--cost-target, --max-{metric.split('_')[0]} or a constraint in the file"
            )
        target = min(bounds)
    if metric in ("macs", "params"):
        check_reachable(space, (Limit(metric, "<=", target),))
    return float(target)


def run_gradient_search(
    space: Any,
    out: str | os.PathLike,
    train_config: Any,
    options: GradientOptions,
    *,
    net_info: Mapping[str, Any],
    realise: Mapping[str, str] | None = None,
    base: Mapping[str, Any] | None = None,
    limits: Mapping[str, float | None] | None = None,
    lut: str | os.PathLike | None = None,
    resume: bool = False,
    on_start: Callable[[dict[str, Any]], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    progress: Any = None,
) -> GradientResult:
    """Search the mixed choices of `space` for `train_config.epochs` epochs in `out`."""
    import torch

    from archc.runtime.search.session import geometry_of_space
    from archc.torch import build_supernet

    phase = on_phase or (lambda _text: None)
    limits = dict(limits or {})
    all_limits = search_limits(
        space, limits.get("max_macs"), limits.get("max_params"), limits.get("max_latency"), lut
    )
    if options.cost == "latency_ms" and options.cost_weight > 0 and lut is None:
        raise SearchError("--cost latency_ms needs --lut TABLE (a latency table: `archc lut`)")
    target = cost_target(space, options, all_limits)
    options = dataclasses.replace(options, cost_target=target)  # a resume needs no limits
    geometry = geometry_of_space(space)
    torch.manual_seed(train_config.seed)
    supernet = build_supernet(space, dict(realise or {}))
    mixed_choices(supernet, options.strategy)
    if options.zero_one > 0 and not any(h == "sigmoid" for h in supernet.realisation.values()):
        raise SearchError(
            "--zero-one (Fair-DARTS) needs sigmoid choices: --realise 'PATTERN=sigmoid'"
        )
    if options.derive == "darts":
        _check_darts_cells(supernet, options.keep_edges)
    supernet.hard = options.hard
    step = _make_step(supernet, space, train_config, options, target, lut, base)
    if options.strategy != "reinforce":
        _check_active(supernet, step.base, phase)
    if options.strategy == "reinforce":
        from archc.runtime.search.policy import reinforce_step

        step = reinforce_step(step, space, options, target)
    folder = Path(out)
    info = {**net_info, "search": {**options.to_dict(), "realise": dict(realise or {})}}
    if resume:
        _check_same_search(folder, info["search"])
    callbacks = {"on_start": on_start, "on_epoch": on_epoch, "progress": progress}
    records = fit_search(
        step, supernet, space, geometry, train_config, folder, info, resume, callbacks
    )
    if options.strategy == "reinforce":
        from archc.runtime.search.policy import finish

        phase("sampling structures from the controller and evaluating them")
        return finish(
            folder, space, step, train_config, geometry, options, all_limits, lut, records
        )
    phase("deriving the subnet and writing best/")
    config, best = derive(space, supernet, step.base, options)
    write_atomic(folder / BEST, json.dumps({"space": space.name, **best}, indent=2) + "\n")
    outputs = _write_best(folder, space, supernet, config, train_config, geometry, options)
    return GradientResult(folder, records, config, best, outputs)


def _check_darts_cells(supernet: Any, keep: int) -> None:
    """`--derive darts` needs cell edges to derive, each with a `none` to drop it with:
    said before training, not after it (the derivation itself is checked on alpha 0)."""
    from archc.compiler.space.darts_derive import node_edges

    if not node_edges(list(supernet.labels)):
        raise SearchError(
            "--derive darts: no mixed choice is a cell edge named NAME[j, t] (source j, "
            "node t, as std.darts and std.cells name them); use --derive argmax"
        )
    try:
        supernet.darts_config(supernet.table.default(), keep)
    except DerivationError as err:
        raise SearchError(f"--derive darts: {err}") from None


def _check_active(supernet: Any, base: Any, phase: Callable[[str], None]) -> None:
    """Mixed choices that no op uses under the fixed choices cannot be learnt."""
    from archc.compiler.ir import active_nodes

    graph = supernet.graph
    used = {
        graph.nodes[n]["ir"].attrs["choice"]
        for n in active_nodes(graph, base, set(supernet.labels))
        if graph.nodes[n]["ir"].kind == "choose"
    }
    idle = sorted(set(supernet.labels) - used)
    if not idle:
        return
    fixed = ", ".join(f"{c} = {v!r}" for c, v in base.items() if c not in supernet.labels)
    what = f"{', '.join(idle)} {'is' if len(idle) == 1 else 'are'} unused under the fixed choices"
    if len(idle) == len(supernet.labels):
        raise SearchError(
            f"{what} ({fixed}): nothing to learn; a space switching ops on and off with "
            "policy choices is searched with --strategy reinforce"
        )
    phase(f"note: {what} ({fixed}); their alphas stay where they start")


def fit_search(step, supernet, space, geometry, train_config, folder, info, resume, callbacks):
    """`fit` the step in `folder`, keeping alphas.jsonl and alphas.png in step with the
    checkpoints (where the space has mixed choices); returns fit's records."""
    from archc.runtime.train import fit

    log = alpha_log.AlphaLog(folder) if supernet.labels else None
    on_start, on_epoch = callbacks.get("on_start"), callbacks.get("on_epoch")

    def started(start: dict[str, Any]) -> None:
        if log is not None:
            log.sync(start["start_epoch"], supernet)
        if on_start is not None:
            on_start(start)

    def epoch_done(record: dict[str, Any]) -> None:
        if log is not None:
            log.append(supernet, record["epoch"])
            alpha_log.plot(log.read(), folder / alpha_log.ALPHAS_PICTURE, space.name)
        if on_epoch is not None:
            on_epoch(record)

    progress = callbacks.get("progress")
    return fit(
        step,
        geometry,
        train_config,
        folder,
        net_info=info,
        resume=resume,
        on_start=started,
        on_epoch=epoch_done,
        **({"progress": progress} if progress is not None else {}),
    )


def _make_step(supernet, space, config, options: GradientOptions, target, lut, base):
    from archc.runtime.search.drivers.differentiable import ArchOptimiser, DifferentiableStep
    from archc.runtime.temperature import GumbelTemperature
    from archc.torch import expected_cost

    table = None
    if lut is not None:
        from archc.compiler.cost.latency_table import as_table

        table = as_table(lut)
    metric = "latency" if options.cost == "latency_ms" else options.cost
    if metric == "latency" and table is None:
        metric = "macs"  # logged only; a latency cost term was refused above

    def expected(net):
        return expected_cost(net, metric, lut=table)

    mode, held_out = options.strategy, options.held_out_fraction
    if mode == "reinforce":  # cells and weights learn jointly under sampled structures
        gumbel = any(supernet.realisation[c] == "gumbel" for c in supernet.labels)
        mode, held_out = ("gumbel" if gumbel else "sync"), 0.0
    temperature = None
    if mode == "gumbel":
        temperature = GumbelTemperature(
            options.tau_start, options.tau_end, max(config.epochs - 1, 1), options.tau_schedule
        )
    cost = None
    if target is not None and options.strategy != "reinforce":  # its cost is in the reward
        cost = CostTerm(options.cost_form, options.cost_weight, target, options.cost_beta)
    return DifferentiableStep(
        supernet,
        space.validate(base) if base is not None else space.default(),
        mode=mode,
        epochs=config.epochs,
        held_out=held_out,
        warmup=options.warmup if options.strategy != "reinforce" else 0,
        lr=config.lr,
        weight_decay=config.weight_decay,
        arch=ArchOptimiser(options.arch_lr, options.arch_betas, options.arch_weight_decay),
        cost=cost,
        expected_cost=expected,
        temperature=temperature,
        aux_skip=options.aux_skip,
        zero_one=options.zero_one,
    )


def derive(space: Any, supernet: Any, base: Any, options: GradientOptions):
    """(config, summary): argmax of every mixed choice; `darts` keeps the strongest
    `keep_edges` edges of every cell node (DARTS's genotype); `prune` also lists, per
    choice, the candidates whose weight stays above the threshold (PoseNFS IV-C)."""
    import torch

    kept_edges = None
    if options.derive == "darts":
        try:
            config, kept_edges = supernet.darts_config(base, options.keep_edges)
        except DerivationError as err:
            raise SearchError(f"--derive darts: {err}") from None
    else:
        config = space.validate(supernet.argmax_config(base))
    cost = space.cost(config)
    with torch.no_grad():
        probs = {c: p.tolist() for c, p in supernet.mixing_probabilities().items()}
    summary: dict[str, Any] = {
        "derivation": options.derive,
        "config": dict(config.items()),
        "macs": cost.macs,
        "params": cost.params,
    }
    if kept_edges is not None:
        summary["kept_edges"] = kept_edges
    if options.derive == "prune":
        kept = {
            c: [
                str(label)
                for label, p in zip(labels, probs[c], strict=True)
                if p >= options.threshold
            ]
            for c, labels in supernet.labels.items()
        }
        dropped = sum(len(supernet.labels[c]) - len(k) for c, k in kept.items())
        summary["kept"] = kept
        summary["dropped_candidates"] = dropped
    return config, summary


def _write_best(folder, space, supernet, config, train_config, geometry, options) -> dict:
    if not options.export:
        return {}
    from archc.runtime.search.outputs import write_best
    from archc.runtime.train.data import run_calibration
    from archc.runtime.train.device import select_device

    device = select_device(train_config.device)
    calibration = run_calibration(train_config, geometry, options.calibration, device)
    supernet.to(device)
    report = write_best(folder, space, supernet, config, calibration)
    report.update(_picture(folder, space, config))
    return report


def _picture(folder: Path, space: Any, config: Any) -> dict[str, str]:
    from archc.compiler.backends.graphviz import RenderError, render, to_dot

    target = folder / "best" / "subnet.svg"
    try:
        return {"picture": str(render(to_dot(space.derive(config).graph, depth=2), target))}
    except (RenderError, OSError) as err:
        return {"picture_error": str(err)}


def _check_same_search(folder: Path, search: dict[str, Any]) -> None:
    """A resume continues the same search: its options must not change."""
    from archc.runtime.train.checkpoint import CONFIG_FILE

    try:
        saved = json.loads((folder / CONFIG_FILE).read_text())["net"].get("search")
    except (OSError, ValueError, KeyError):
        return  # fit's own resume check names what is wrong with the folder
    if saved is None:
        raise SearchError(f"{folder} is not a differentiable search run")
    changed = [
        f"{k}: {v!r} (the run has {saved.get(k)!r})" for k, v in search.items() if saved.get(k) != v
    ]
    if changed:
        raise SearchError(
            f"{folder}: a resumed search keeps its options; changed: " + "; ".join(changed)
        )
