"""`archc search SPACE --supernet RUN --data DIR --out DIR`: find the best subnet of a
trained supernet within a budget (runtime/search/one_shot.py does the work), or
`archc search SPACE --strategy darts|sync|gumbel --data DIR --epochs N --out DIR`:
a differentiable search, which trains as it searches (cli/search_gradient.py).

Options are checked here (exit code 2 for a bad command line), the limits
before anything is loaded; one line per trial on stdout, a summary at the end.
"""

from __future__ import annotations

import argparse
from typing import Any

from archc.cli import search_gradient, values
from archc.cli.common import (
    CliFailure,
    add_realise_option,
    realise_overrides,
)

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
    "device",
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
    from archc.dsl.diagnostics import render
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
