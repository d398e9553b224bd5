"""`archc search SPACE --supernet RUN --data DIR --out DIR`: find the best subnet of a
trained supernet within a budget (runtime/search/one_shot.py does the work), or
`archc search SPACE --strategy darts|sync|gumbel --data DIR --epochs N --out DIR`:
a differentiable search, which trains as it searches (cli/search_gradient.py).

Options are checked here (exit code 2 for a bad command line), the limits
before anything is loaded; one line per trial on stdout, a summary at the end.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from archc.cli import search_gradient, values
from archc.cli.common import (
    CliFailure,
    UsageError,
    add_realise_option,
    realise_overrides,
)
from archc.cli.keynet import add_key_net_options, key_net_files, load_key_net, saved_key_net

OPTION_FIELDS = (
    "strategy",
    "evaluations",
    "seed",
    "batch",
    "max_macs",
    "max_params",
    "max_latency",
    "cost",
    "objective",
    "calibration",
    "val_images",
    "eval_batch",
    "flip",
    "population",
    "tournament",
    "mutation_prob",
    "crossover_prob",
    "export",
    "threads",
    "workers",
    "ray_address",
    "device",
    "tie_frames",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="search a space: one-shot (a trained supernet) or differentiable",
        description="One-shot (evolution, random, nsga2): evaluate subnets of SPACE with "
        "the shared weights of a supernet (BN recalibrated on R training crops, OKS "
        "AP on V validation images) as a search strategy proposes them, within the "
        "file's constraints and the limits given here. OUT gets manifest.json, "
        "trials.jsonl, front.json, best.json, pareto.png and best/ (config, weights, "
        "ONNX). Differentiable (darts, sync, gumbel): train the weighted supernet's "
        "weights and architecture parameters together for --epochs (every option of "
        "`archc train` applies); OUT is a training run plus alphas.jsonl, alphas.png, "
        "best.json and best/. A killed search continues with --resume. See "
        "docs/search.md.",
    )
    p.add_argument("file", metavar="SPACE")
    p.add_argument(
        "--supernet",
        metavar="RUN",
        help="one-shot: a supernet run folder (archc supernet train) or its .safetensors",
    )
    p.add_argument("--data", required=True, metavar="DIR", help="data directory")
    p.add_argument("--out", required=True, metavar="DIR", help="the search folder")
    p.add_argument("--resume", action="store_true", help="continue the search in DIR")
    p.add_argument(
        "--strategy",
        default="evolution",
        choices=(*ONE_SHOT, *search_gradient.STRATEGIES),
        help="one-shot: evolution (default), random, nsga2; differentiable: darts, sync, gumbel",
    )
    p.add_argument(
        "--evaluations",
        type=values.POSITIVE,
        metavar="N",
        help="subnets to evaluate (default 100; a resume may raise it)",
    )
    p.add_argument("--seed", type=values.NATURAL, default=0, metavar="S")
    p.add_argument(
        "--batch",
        type=values.POSITIVE,
        metavar="B",
        help="one-shot: configs proposed per strategy step (default 8); "
        "differentiable: images per batch (default 32)",
    )
    p.add_argument("--max-macs", type=values.positive_quantity(), metavar="M", help="e.g. 300M")
    p.add_argument("--max-params", type=values.positive_quantity(), metavar="P", help="e.g. 3M")
    p.add_argument("--max-latency", type=values.RATE, metavar="MS", help="needs --lut")
    p.add_argument("--lut", metavar="TABLE.json", help="latency table (archc lut)")
    p.add_argument(
        "--cost",
        choices=("macs", "params", "latency_ms"),
        help="the cost axis of the front (and of nsga2); differentiable: the expected "
        "cost of the cost term (default macs)",
    )
    p.add_argument("--objective", choices=("AP", "loss"), help="one-shot (default AP)")
    p.add_argument(
        "--calibration",
        type=values.POSITIVE,
        metavar="R",
        help="training crops for BN recalibration (default 256)",
    )
    p.add_argument(
        "--val-images",
        type=values.POSITIVE,
        metavar="V",
        help="validation images per evaluation (default all)",
    )
    p.add_argument("--eval-batch", type=values.POSITIVE, metavar="B")
    p.add_argument("--no-flip", dest="flip", action="store_false", help="no flip test")
    p.add_argument("--population", type=values.POSITIVE, metavar="P")
    p.add_argument("--tournament", type=values.POSITIVE, metavar="S")
    p.add_argument(
        "--mutation-prob",
        type=values.PROBABILITY,
        metavar="P",
        help="per-choice mutation rate (default 1 / number of choices)",
    )
    p.add_argument("--crossover-prob", type=values.PROBABILITY, metavar="P")
    p.add_argument(
        "--no-export",
        dest="export",
        action="store_false",
        help="no best/ folder (config, weights, ONNX)",
    )
    p.add_argument("--threads", type=values.POSITIVE, metavar="T")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    add_realise_option(p)
    scale = p.add_argument_group(
        "scale-out",
        "One-shot evaluations on Ray actors, each loading the supernet and the cached "
        "batches once; trials.jsonl is the same for any N (docs/scale.md)",
    )
    scale.add_argument(
        "--workers",
        type=values.NATURAL,
        metavar="N",
        help="one-shot: evaluate on N Ray workers (default 1: in this process, no Ray), "
        "each with --threads torch threads (default 1); differentiable: data loading "
        "processes (default 0)",
    )
    scale.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="a running Ray cluster (`ray start --head` prints it; default: a local Ray "
        "runtime started and stopped by the search)",
    )
    temporal = p.add_argument_group(
        "temporal spaces",
        "A temporal space (vipnas_temporal.arch) is searched one-shot on videos, each "
        "config scored online: the key frame by the fixed key net, every later frame "
        "from the previous frame's heatmaps, AP over all frames (docs/temporal.md)",
    )
    add_key_net_options(temporal, required=False)
    temporal.add_argument(
        "--tie-frames",
        action="store_true",
        default=None,
        help="one architecture for all frames: every frame takes frame 1's choices "
        "(ViPNAS Figure 6's baseline for per-frame allocation)",
    )
    search_gradient.add_options(p)
    p.set_defaults(run=run)


ONE_SHOT = ("evolution", "random", "nsga2")
# one-shot options: given to a differentiable strategy they are refused, not ignored
ONE_SHOT_ONLY = (
    "supernet",
    "evaluations",
    "objective",
    "val_images",
    "eval_batch",
    "population",
    "tournament",
    "mutation_prob",
    "crossover_prob",
    "key_net",
    "key_weights",
    "key_config",
    "ray_address",
    "tie_frames",
)


def run(args: argparse.Namespace) -> int:
    if args.strategy == "random" and args.budget_seconds is not None:
        search_gradient.refuse(args, ONE_SHOT_ONLY, "one-shot (a trained supernet)")
        search_gradient.refuse(args, search_gradient.FIELDS, "differentiable")
        return search_gradient.run_budget(args)
    if args.strategy in search_gradient.STRATEGIES:
        search_gradient.refuse(args, ONE_SHOT_ONLY, "one-shot (evolution, random, nsga2)")
        return search_gradient.run(args)
    search_gradient.refuse(args, args.gradient_only, "differentiable (darts, sync, gumbel)")
    if args.supernet is None:
        raise CliFailure(
            f"--strategy {args.strategy} searches a trained supernet: give --supernet RUN "
            "(from `archc supernet train`), or use --strategy darts|sync|gumbel, or "
            "--strategy random --budget-seconds S to train random subnets"
        )
    return _run_one_shot(args)


def _run_one_shot(args: argparse.Namespace) -> int:
    from archc.api import compile_file
    from archc.compiler.space.space import Space
    from archc.kernel.diagnostics import render
    from archc.runtime.search.manifest import portable_sources
    from archc.runtime.search.one_shot import SearchOptions, run_search
    from archc.runtime.search.strategies import SearchError

    compiled = compile_file(args.file, defines=args.defines)
    if not compiled.ok:
        import sys

        print(render(compiled.diagnostics, compiled.sources), file=sys.stderr)
        raise CliFailure(f"{args.file} has errors")
    if len(compiled.graphs) != 1:
        raise CliFailure(f"{args.file}: expected exactly one space")
    space = Space(compiled.graphs[0])
    if not space.choices:
        raise CliFailure(f"{args.file} has no choices: there is nothing to search")
    _check_ray(args)
    key_net = _key_net(args, space)
    try:
        given = {f: getattr(args, f) for f in OPTION_FIELDS}
        options = SearchOptions(**{f: v for f, v in given.items() if v is not None})
        report = _Report(options)
        result = run_search(
            space,
            args.out,
            options,
            supernet=args.supernet,
            data=args.data,
            sources=portable_sources(compiled.sources, args.file),
            defines=list(args.defines or []),
            lut=args.lut,
            realise=realise_overrides(args),
            resume=args.resume,
            key_net=key_net,
            on_trial=report.trial,
            on_phase=report.phase,
        )
    except SearchError as err:
        raise CliFailure(str(err)) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"{args.out}/trials.jsonl holds every finished trial; add --resume to the same "
            "command to continue"
        ) from None
    report.done(result)
    return 0


def _check_ray(args: argparse.Namespace) -> None:
    """Ray is needed only for more than one worker or a cluster: say so up front."""
    from archc.cli import requires

    if args.workers == 0:
        raise UsageError("--workers 0: a one-shot search evaluates on at least 1 worker")
    if (args.workers or 1) > 1 or args.ray_address:
        requires.require("search --workers", "ray")


def _key_net(args: argparse.Namespace, space) -> Any:
    """The fixed key net of a temporal space's search: --key-net, else the supernet
    run's own; None for a single-frame space (which refuses the key-net options)."""
    from archc.runtime.temporal.contract import is_temporal, temporal_contract
    from archc.runtime.train import TrainError

    files = key_net_files(args)
    if not is_temporal(space):
        if files is not None:
            raise UsageError(f"--key-net: `{space.name}` is not a temporal space")
        return None
    if files is None:
        run = Path(args.supernet)
        record = _temporal_record(run) if run.is_dir() else None
        if record is None:
            raise UsageError(
                f"`{space.name}` is a temporal space: name its key net with --key-net, or "
                "give --supernet the run folder of `archc supernet train` (it records its own)"
            )
        files = saved_key_net(record, str(run))
    key_net = load_key_net(files, args.defines)
    try:
        key_net.check_fits(temporal_contract(space).geometry)
    except TrainError as err:
        raise CliFailure(str(err)) from None
    return key_net


def _temporal_record(run: Path) -> dict | None:
    try:
        return json.loads((run / "config.json").read_text(encoding="utf-8"))["net"]["temporal"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _Report:
    def __init__(self, options: Any) -> None:
        self.options = options

    def phase(self, text: str) -> None:
        print(text, flush=True)

    def trial(self, r: dict[str, Any], replayed: bool) -> None:
        if replayed:
            return
        n = self.options.evaluations
        how = (
            f"repeat of {r['repeat_of']}" if r["repeat_of"] is not None else f"{r['seconds']:.1f} s"
        )
        ap = "-" if r["AP"] is None else f"{r['AP']:.4f}"
        print(
            f"trial {r['index'] + 1}/{n}: AP {ap}  MACs {r['macs'] / 1e6:.1f}M  params "
            f"{r['params'] / 1e6:.2f}M  ({how})",
            flush=True,
        )

    def done(self, result) -> None:
        best = result.best
        if best is None:
            print(f"no trial scored; see {result.folder / 'trials.jsonl'}")
            return
        print(
            f"best: trial {best['index'] + 1} AP {best['AP']:.4f} at {best['macs'] / 1e6:.1f}M "
            f"MACs, {best['params'] / 1e6:.2f}M params; {result.folder / 'best.json'}, "
            f"{result.folder / 'pareto.png'}"
        )
        for key in ("config", "weights", "onnx"):
            if key in result.outputs:
                print(f"  {key}: {result.outputs[key]}")
        if "onnx_error" in result.outputs:
            print(f"  no ONNX file: {result.outputs['onnx_error']}")
