"""`archc search SPACE --strategy darts|sync|gumbel --data DIR --epochs N --out DIR`: the
differentiable strategies of `archc search` (runtime/search/gradient.py does the work).

A differentiable search trains as it searches, so it takes every option of
`archc train` (schedule, batch, workers, deterministic, limits of the data...)
besides its own; one-shot options given to it, and its options given to a
one-shot strategy, are refused rather than silently ignored.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from archc.cli import values
from archc.cli.common import CliFailure, UsageError, load_space, realise_overrides
from archc.cli.os_errors import describe
from archc.cli.train import (
    _config,
    _progress,
    add_training_options,
    interrupted_note,
    saved_defines,
    skipped_text,
)

STRATEGIES = ("darts", "sync", "gumbel", "reinforce")
# defined by `archc search` itself, with the meaning a differentiable search gives them too
SHARED = frozenset(
    {"data", "out", "resume", "seed", "batch", "threads", "device", "flip_test", "workers"}
    | {"budget_seconds"}
)
# the GradientOptions fields that are options of this module
FIELDS = (
    "held_out",
    "warmup",
    "arch_lr",
    "arch_weight_decay",
    "cost_weight",
    "cost_target",
    "cost_form",
    "tau_start",
    "tau_end",
    "tau_schedule",
    "hard",
    "aux_skip",
    "zero_one",
    "derive",
    "threshold",
    "keep_edges",
    "controller_updates",
    "controller_samples",
    "controller_lr",
    "baseline_decay",
    "entropy_weight",
    "reward",
    "derive_samples",
)


def add_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("differentiable search (darts, sync, gumbel)")
    g.add_argument(
        "--held-out",
        type=values.FRACTION,
        metavar="F",
        help="fraction of the training images kept for architecture steps (darts, "
        "gumbel; default 0.5; 0 makes gumbel update jointly like sync)",
    )
    g.add_argument(
        "--warmup",
        type=values.NATURAL,
        metavar="E",
        help="epochs of weight training first (default 0)",
    )
    g.add_argument("--arch-lr", type=values.RATE, metavar="LR", help="default 3e-4 (Adam)")
    g.add_argument("--arch-weight-decay", type=values.WEIGHT, metavar="WD", help="default 1e-3")
    g.add_argument(
        "--cost-weight",
        type=values.WEIGHT,
        metavar="LAMBDA",
        help="weight of the cost term of the architecture loss (default 0: none)",
    )
    g.add_argument(
        "--cost-target",
        type=values.RATE,
        metavar="T",
        help="the cost the term is relative to (default: --max-macs/--max-params/"
        "--max-latency or the file's constraint on --cost)",
    )
    g.add_argument(
        "--cost-form",
        choices=("log", "fbnet", "linear"),
        help="log: L + lambda ln(E/T) (EfficientPose, default); fbnet: L lambda "
        "ln(1 + E/T)^0.6; linear: L + lambda E/T",
    )
    g.add_argument("--tau-start", type=values.RATE, metavar="T", help="gumbel (default 10)")
    g.add_argument("--tau-end", type=values.RATE, metavar="T", help="gumbel (default 0.1)")
    g.add_argument(
        "--tau-schedule", choices=("exponential", "linear", "cosine", "constant"), help="gumbel"
    )
    g.add_argument(
        "--hard",
        action="store_const",
        const=True,
        help="gumbel: straight-through, one candidate computed per step (GDAS)",
    )
    g.add_argument(
        "--aux-skip",
        action="store_const",
        const=True,
        help="DARTS-: an auxiliary skip around each mixed op, decaying 1 -> 0",
    )
    g.add_argument(
        "--zero-one",
        type=values.WEIGHT,
        metavar="W",
        help="Fair-DARTS zero-one loss weight (e.g. 10; needs --realise 'PATTERN=sigmoid')",
    )
    g.add_argument(
        "--derive",
        choices=("argmax", "darts", "prune"),
        help="argmax (default); darts: keep the --keep-edges strongest edges of every cell "
        "node (choices named NAME[j, t]), the others `none`; prune: also list the "
        "candidates above --threshold",
    )
    g.add_argument(
        "--keep-edges",
        type=values.POSITIVE,
        metavar="K",
        help="darts derivation: edges kept per cell node (default 2)",
    )
    g.add_argument(
        "--threshold",
        type=values.FRACTION,
        metavar="W",
        help="prune below this weight (default 0.05)",
    )
    c = p.add_argument_group("reinforce (AutoPose): a controller over the policy choices")
    c.add_argument(
        "--controller-updates",
        type=values.POSITIVE,
        metavar="N",
        help="per epoch from --warmup on (10)",
    )
    c.add_argument(
        "--controller-samples", type=values.POSITIVE, metavar="B", help="structures per update (2)"
    )
    c.add_argument("--controller-lr", type=values.RATE, metavar="LR", help="Adam (3.5e-4)")
    c.add_argument(
        "--baseline-decay", type=values.FRACTION, metavar="D", help="moving average (0.99)"
    )
    c.add_argument("--entropy-weight", type=values.WEIGHT, metavar="W", help="entropy bonus (1e-4)")
    c.add_argument(
        "--reward",
        choices=("AP", "loss"),
        help="validation AP with shared weights (default), or minus the heatmap loss on a "
        "held-out batch; --cost-weight w multiplies AP by (target / MACs)^w",
    )
    c.add_argument(
        "--derive-samples",
        type=values.POSITIVE,
        metavar="M",
        help="structures sampled from the trained controller and evaluated (20)",
    )
    g.add_argument(
        "--budget-seconds",
        type=values.RATE,
        metavar="S",
        help="with --strategy random and no --supernet: train random subnets from scratch "
        "(--epochs each) until S seconds of training are spent; keep the best. With a "
        "differentiable or policy strategy: search for about S seconds (its length fixed "
        "after the first epoch, at most --epochs)",
    )
    add_training_options(g, skip=SHARED)
    # every option of the groups: refused with a one-shot strategy (`refuse`)
    dests = [a.dest for group in (g, c) for a in group._group_actions]
    p.set_defaults(gradient_only=tuple(dests))


CONTROLLER = FIELDS[-7:]  # the reinforce options


def refuse(args: argparse.Namespace, names: tuple[str, ...], kind: str) -> None:
    given = [n for n in names if getattr(args, n, None) is not None]
    if given:
        flags = ", ".join("--" + n.replace("_", "-") for n in given)
        raise UsageError(f"{flags}: only for a {kind} search, not --strategy {args.strategy}")


def refuse_temporal(space, strategy: str) -> None:
    """A temporal space is searched one-shot; the other drivers train single crops."""
    from archc.runtime.temporal.contract import is_temporal

    if is_temporal(space):
        raise CliFailure(
            f"`{space.name}` is a temporal space: --strategy {strategy} trains single "
            "crops; train its supernet with `archc supernet train --key-net` and search it "
            "with --strategy evolution|random|nsga2 (docs/temporal.md)"
        )


def run(args: argparse.Namespace) -> int:
    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.search.gradient import GradientOptions, run_gradient_search
    from archc.runtime.search.strategies import SearchError
    from archc.runtime.train import TrainError
    from archc.runtime.weights import WeightsError

    if args.strategy != "reinforce":
        refuse(args, CONTROLLER, "reinforce")
    out = Path(args.out)
    if args.resume and not args.defines:
        args.defines = saved_defines(out)  # the run's own constants
    space = load_space(args.file, args.defines)
    if not space.choices:
        raise CliFailure(f"{args.file} has no choices: there is nothing to search")
    refuse_temporal(space, args.strategy)
    args.flip_test = None if args.flip else False
    try:
        config, net = _config(args, out)
        saved = (net or {}).get("search") if args.resume else None
        if args.resume and saved is None:
            raise CliFailure(f"{out} is not a differentiable search run")
        options = GradientOptions(**_options(args, saved))
        realise = realise_overrides(args) or (saved or {}).get("realise", {})
        report = _Report(space, out, config.epochs, options)
        result = run_gradient_search(
            space,
            out,
            config,
            options,
            net_info={
                "file": str(Path(args.file).resolve()),
                "choices": None,
                "defines": list(args.defines or []),
            },
            realise=realise,
            limits={k: getattr(args, k) for k in ("max_macs", "max_params", "max_latency")},
            lut=args.lut,
            resume=args.resume,
            on_start=report.start,
            on_epoch=report.epoch,
            on_phase=report.phase,
            progress=_progress,
        )
    except (SearchError, TrainError, WeightsError, PoseDataError, ValueError) as err:
        raise CliFailure(str(err)) from None
    except OSError as err:
        raise CliFailure(describe(err, out)) from None
    except KeyboardInterrupt:
        command = f"archc search {args.file} --strategy {args.strategy}"
        raise KeyboardInterrupt(interrupted_note(out, command)) from None
    report.done(result)
    return 0


def run_budget(args: argparse.Namespace) -> int:
    """`--strategy random --budget-seconds S`: random subnets trained from scratch."""
    from archc.api import compile_file
    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.search.budget import run_budget_search
    from archc.runtime.search.manifest import portable_sources
    from archc.runtime.search.strategies import SearchError
    from archc.runtime.train import TrainError

    space = load_space(args.file, args.defines)
    if not space.choices:
        raise CliFailure(f"{args.file} has no choices: there is nothing to search")
    refuse_temporal(space, args.strategy)
    out = Path(args.out)
    args.flip_test = None if args.flip else False
    try:
        config = _budget_config(args, out)
        print(
            f"random search at equal budget: subnets of {space.name} trained from scratch for "
            f"{config.epochs} epochs each until {args.budget_seconds:g} s are spent, in {out}",
            flush=True,
        )
        result = run_budget_search(
            space,
            out,
            config,
            budget_seconds=args.budget_seconds,
            sources=portable_sources(
                compile_file(args.file, defines=args.defines).sources, args.file
            ),
            limits={k: getattr(args, k) for k in ("max_macs", "max_params", "max_latency")},
            lut=args.lut,
            resume=args.resume,
            on_trial=_budget_trial,
            progress=_progress,
            net={"file": args.file, "defines": list(args.defines or [])},
        )
    except (SearchError, TrainError, PoseDataError, ValueError) as err:
        raise CliFailure(str(err)) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"{out}/trials.jsonl holds every finished trial; add --resume to the same "
            "command to continue"
        ) from None
    best = result.best
    if best is None:
        print(f"no trial scored; see {out / 'trials.jsonl'}")
        return 0
    print(
        f"best of {len(result.records)} trained subnets: trial {best['index'] + 1} AP "
        f"{best['AP']:.4f} at {best['macs'] / 1e6:.1f}M MACs; {out / 'best.json'}"
    )
    for key, value in result.outputs.items():
        print(f"  {key}: {value}")
    return 0


def _budget_config(args: argparse.Namespace, out: Path):
    """The training options of every trial (a resume reads them from the manifest's
    check: the same options are required, so they are given again)."""
    from archc.cli.train import given_options
    from archc.runtime.train import TrainConfig

    options = given_options(args)
    options.pop("budget_seconds", None)  # the search's budget; each trial trains --epochs
    if args.data is None:
        raise UsageError("--data DIR is required (a folder with annotations/ and images/)")
    options["data"] = str(Path(options["data"]).resolve())
    options.setdefault("workers", 0)
    return TrainConfig(**options)


def _budget_trial(record: dict[str, Any], replayed: bool) -> None:
    if replayed:
        return
    ap = "-" if record["AP"] is None else f"{record['AP']:.4f}"
    print(
        f"trial {record['index'] + 1}: AP {ap}  MACs {record['macs'] / 1e6:.1f}M  "
        f"({record['seconds']:.1f} s)",
        flush=True,
    )


def _options(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """The options given; on --resume, over the run's own (`run_gradient_search` refuses
    any that differs, naming it)."""
    given = {n: getattr(args, n) for n in (*FIELDS, "cost", "calibration")}
    given = {"strategy": args.strategy, **{k: v for k, v in given.items() if v is not None}}
    if not args.export:
        given["export"] = False
    if saved is None:
        return given
    return {**{k: v for k, v in saved.items() if k != "realise"}, **given}


class _Report:
    def __init__(self, space: Any, out: Path, epochs: int, options: Any) -> None:
        self.space, self.out, self.epochs, self.options = space, out, epochs, options

    def phase(self, text: str) -> None:
        print(text, flush=True)

    def start(self, info: dict[str, Any]) -> None:
        o = self.options
        at = f", resuming after epoch {info['start_epoch']}" if info["start_epoch"] else ""
        held = f", {info['held_out_persons']} held out" if info["held_out_persons"] else ""
        print(
            f"{o.strategy} search of {self.space.name} for {self.epochs} epochs (warm-up "
            f"{o.warmup}) on {info['train_persons']} train{held} / {info['val_persons']} "
            f"val persons{skipped_text(info.get('skipped', {}))} ({info['device']}, "
            f"{info['threads']} threads) in {self.out}{at}",
            flush=True,
        )

    def epoch(self, r: dict[str, Any]) -> None:
        ap = "" if r.get("AP") is None else f"  AP {r['AP']:.4f}"
        cost = r.get("expected_cost")
        unit = (1, " ms") if self.options.cost == "latency_ms" else (1e6, "M")
        shown = "" if cost is None else f"  E[{self.options.cost}] {cost / unit[0]:.3f}{unit[1]}"
        controller = ""
        if r.get("controller_reward") is not None:
            controller = (
                f"  controller reward {r['controller_reward']:.4g} "
                f"entropy {r['controller_entropy']:.3f}"
            )
        print(
            f"epoch {r['epoch']}/{self.epochs}: loss {r['loss']:.6f}{ap}{shown}{controller}  "
            f"{r['seconds']:.1f} s",
            flush=True,
        )

    @property
    def _picture(self) -> str:
        return "controller.png" if self.options.strategy == "reinforce" else "alphas.png"

    def done(self, result: Any) -> None:
        best = result.best
        if "macs" not in best:
            print(f"no structure scored; see {result.folder / 'trials.jsonl'}")
            return
        ap = f"AP {best['AP']:.4f} at " if best.get("AP") is not None else ""
        print(
            f"derived ({best['derivation']}): {ap}{best['macs'] / 1e6:.1f}M MACs, "
            f"{best['params'] / 1e6:.2f}M params; {result.folder / 'best.json'}, "
            f"{result.folder / self._picture}"
        )
        if "kept" in best:
            print(f"  prune: {best['dropped_candidates']} candidates below the threshold")
        for key in ("config", "weights", "onnx", "picture"):
            if key in result.outputs:
                print(f"  {key}: {result.outputs[key]}")
        for key in ("onnx_error", "picture_error"):
            if key in result.outputs:
                print(f"  no {key.split('_')[0]}: {result.outputs[key]}")
