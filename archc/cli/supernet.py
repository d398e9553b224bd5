"""`archc supernet train SPACE --data DIR --out RUN`: train a weight-sharing supernet
with the sandwich rule and in-place distillation (runtime/search/drivers/sandwich.py).

Everything `archc train` gives comes from the same loop (`archc.runtime.train.fit`):
schedules, validation (of the largest and the smallest subnet, after BN
recalibration), metrics.jsonl, atomic safetensors checkpoints, exact resume,
progress, the CUDA/AMP path. The sandwich's own options are recorded in the
run's config.json and a resume keeps them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from archc.cli import values
from archc.cli.common import (
    CliFailure,
    UsageError,
    add_define_option,
    add_realise_option,
    load_space,
    realise_overrides,
)
from archc.cli.keynet import add_key_net_options, key_net_files, load_key_net, saved_key_net
from archc.cli.os_errors import describe
from archc.cli.train import (
    _config,
    _progress,
    add_training_options,
    interrupted_note,
    saved_defines,
    skipped_text,
)

DEFAULTS = {"random": 2, "distill": True, "calibration": 256}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "supernet",
        help="train a weight-sharing supernet (sandwich rule)",
        description="Supernet training for one-shot search. `archc supernet train SPACE` "
        "trains every subnet of SPACE at once: per batch the largest, the smallest "
        "and N random subnets, the others distilled from the largest (ViPNAS, "
        "BigNAS). Then `archc search SPACE --supernet RUN` finds the best subnet "
        "within a budget. See docs/search.md.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = actions.add_parser("train", help="train a supernet with the sandwich rule")
    t.add_argument("file", metavar="SPACE")
    add_define_option(t)
    add_training_options(t)
    add_realise_option(t)
    t.add_argument(
        "--random",
        type=values.NATURAL,
        metavar="N",
        help=f"random subnets per batch besides the largest and smallest "
        f"(default {DEFAULTS['random']})",
    )
    t.add_argument(
        "--no-distill",
        dest="distill",
        action="store_const",
        const=False,
        help="train every subnet on the ground truth only (no in-place distillation)",
    )
    t.add_argument(
        "--calibration",
        type=values.POSITIVE,
        metavar="R",
        help="training crops for the BN recalibration before each validation "
        f"(default {DEFAULTS['calibration']})",
    )
    temporal = t.add_argument_group(
        "temporal spaces",
        "A space with a key-heatmap input and T frame inputs (vipnas_temporal.arch) trains "
        "by multi-frame propagation on videos (`archc data synth --video`), from a fixed "
        "key net; see docs/temporal.md",
    )
    add_key_net_options(temporal)
    temporal.add_argument(
        "--temporal-choices",
        type=values.names,
        metavar="NAME,...",
        help="the choices drawn at random in the largest and smallest subnets (default "
        "fuse_at,fuse_op); a name matches a choice's full name or its last part",
    )
    t.set_defaults(run=run)


def _sandwich(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """The sandwich options: the run's own on resume (a different one is refused)."""
    given = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None}
    if args.realise:
        given["realise"] = realise_overrides(args)
    if saved is None:
        options = {**DEFAULTS, "realise": {}, **given}
        return options
    old = saved.get("sandwich")
    if old is None:
        raise CliFailure(f"{args.out} is not a supernet run (it was made by `archc train`)")
    changed = [
        f"{k}: {v!r} (the run has {old.get(k)!r})" for k, v in given.items() if old.get(k) != v
    ]
    if changed:
        raise CliFailure(
            f"{args.out}: a resumed run keeps its options; changed: " + "; ".join(changed)
        )
    return old


def run(args: argparse.Namespace) -> int:
    import torch

    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.search.drivers.sandwich import SandwichStep
    from archc.runtime.search.session import geometry_of_space
    from archc.runtime.search.strategies import SearchError
    from archc.runtime.temporal.contract import is_temporal
    from archc.runtime.train import TrainError, fit
    from archc.runtime.weights import WeightsError
    from archc.torch import build_supernet

    out = Path(args.out) if args.out else None
    if args.resume and out is not None and not args.defines:
        args.defines = saved_defines(out)  # the run's own constants
    space = load_space(args.file, args.defines)
    if not space.choices:
        raise CliFailure(f"{args.file} has no choices: train it with `archc train`")
    out = out or Path("runs") / f"{space.name}_supernet"
    args.out = str(out)
    try:
        config, saved = _config(args, out)
        options = _sandwich(args, saved)
        if saved is not None and saved.get("defines", []) != list(args.defines or []):
            raise CliFailure(
                f"{out}: a resumed run keeps its constants; -D {args.defines} (the run has "
                f"{saved.get('defines', [])})"
            )
        torch.manual_seed(config.seed)
        supernet = build_supernet(space, options["realise"])
        sandwich = {
            "random": options["random"],
            "distill": options["distill"],
            "lr": config.lr,
            "weight_decay": config.weight_decay,
            "calibration": options["calibration"],
        }
        net = {
            "file": str(Path(args.file).resolve()),
            "choices": None,
            "defines": list(args.defines or []),
            "sandwich": options,
        }
        if is_temporal(space):
            step, geometry, net["temporal"] = _temporal_step(args, space, supernet, saved, sandwich)
        else:
            _refuse_key_net_options(args, space)
            geometry = geometry_of_space(space)
            step = SandwichStep(supernet, space, **sandwich)
        report = _Report(space, supernet, out, config.epochs, options, net.get("temporal"))
        fit(
            step,
            geometry,
            config,
            out,
            net_info=net,
            resume=args.resume,
            on_start=report.start,
            on_epoch=report.epoch,
            progress=_progress,
        )
    except (TrainError, WeightsError, PoseDataError, SearchError, ValueError) as err:
        raise CliFailure(str(err)) from None
    except OSError as err:
        raise CliFailure(describe(err, out)) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            interrupted_note(out, f"archc supernet train {args.file}")
        ) from None
    report.done()
    return 0


def _refuse_key_net_options(args: argparse.Namespace, space) -> None:
    given = [
        o for o in ("key_net", "key_weights", "key_config", "temporal_choices") if getattr(args, o)
    ]
    if given:
        flags = ", ".join("--" + o.replace("_", "-") for o in given)
        raise UsageError(
            f"{flags}: `{space.name}` is not a temporal space (it has one input); the "
            "key-net options train a space with key heatmaps and frame inputs"
        )


def _temporal_step(args: argparse.Namespace, space, supernet, saved, sandwich: dict):
    """(step, geometry, record) of a temporal supernet run: a new run names its key net,
    a resume rebuilds the run's own (and refuses one whose weights changed)."""
    from archc.runtime.temporal.contract import temporal_contract
    from archc.runtime.temporal.step import TemporalSandwichStep, temporal_choices

    contract = temporal_contract(space)
    if saved is None:
        files = key_net_files(args)
        if files is None:
            raise UsageError(
                f"`{space.name}` is a temporal space: name the fixed key-frame net with "
                "--key-net (an `archc train` run folder, or a net file with --key-weights)"
            )
        chosen = temporal_choices(space, args.temporal_choices)
    else:
        record = saved.get("temporal") or {}
        if key_net_files(args) is not None or args.temporal_choices is not None:
            raise UsageError(f"{args.out}: a resumed run keeps its key net and temporal choices")
        files = saved_key_net(record, args.out)
        chosen = tuple(record.get("temporal_choices", ()))
    key_net = load_key_net(files, args.defines)
    key_net.check_fits(contract.geometry)
    step = TemporalSandwichStep(supernet, space, contract, key_net, temporal=chosen, **sandwich)
    record = {"key_net": key_net.record, "temporal_choices": list(chosen)}
    return step, contract.geometry, record


class _Report:
    def __init__(self, space, supernet, out, epochs: int, options: dict, temporal=None) -> None:
        self.space, self.supernet, self.out = space, supernet, out
        self.epochs, self.options, self.temporal = epochs, options, temporal
        self.last: dict[str, Any] | None = None

    def _rule(self) -> str:
        if self.temporal is None:
            return "with the sandwich rule"
        key = Path(self.temporal["key_net"]["file"]).name
        free = len(self.temporal["temporal_choices"])
        return (
            f"by multi-frame propagation from the key net {key} (sandwich over frames, "
            f"{free} temporal choices drawn in the ends)"
        )

    def start(self, info: dict[str, Any]) -> None:
        params = sum(p.numel() for p in self.supernet.parameters())
        at = f", resuming after epoch {info['start_epoch']}" if info["start_epoch"] else ""
        print(
            f"training the supernet of {self.space.name} ({len(self.space.choices)} choices, "
            f"{params:,} shared params) {self._rule()} (largest, smallest, "
            f"{self.options['random']} random per batch"
            f"{', in-place distillation' if self.options['distill'] else ''}) on "
            f"{info['train_persons']} train / {info['val_persons']} val "
            f"{'persons' if self.temporal is None else 'clips'}"
            f"{skipped_text(info.get('skipped', {}))} for "
            f"{self.epochs} epochs ({info['device']}, {info['threads']} "
            f"thread{'s' * (info['threads'] != 1)}) in "
            f"{self.out}{at}",
            flush=True,
        )

    def epoch(self, r: dict[str, Any]) -> None:
        self.last = r
        ap = ""
        if r.get("AP") is not None:
            ap = f"  AP largest {r['AP']:.4f} smallest {r['AP_smallest']:.4f}"
        print(
            f"epoch {r['epoch']}/{r['epochs']}: loss largest {r['loss']:.6f} smallest "
            f"{r['loss_smallest']:.6f}  lr {r['lr']:.2e}{ap}  {r['seconds']:.1f} s",
            flush=True,
        )

    def done(self) -> None:
        if self.last is None:
            print(f"nothing to do: {self.out} has finished its {self.epochs} epochs")
            return
        print(
            f"supernet weights: {self.out / 'last.safetensors'}; search it with "
            f"`archc search {self.space.name}.arch --supernet {self.out} ...`"
        )
