"""`archc train FILE --data DIR`: train a fixed network on COCO-format keypoints.

The command parses options, builds the network (`archc.torch.build_module`) and
hands it to `archc.runtime.train.fit`, which does the work (docs/training.md).
Torch is imported only when the command runs, so `archc check` stays fast.

Options default to None here so that a resumed run can tell the options given
now from the ones the run was started with: a resume starts from RUN's saved
options and refuses a changed one (except --workers, --device, --data).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from archc.cli import values
from archc.cli.common import (
    CliFailure,
    UsageError,
    add_config_options,
    chosen_config,
    load_space,
)
from archc.cli.os_errors import describe

# CLI option -> TrainConfig field, for the options that map one to one.
FIELDS = (
    "data",
    "epochs",
    "batch",
    "lr",
    "schedule",
    "lr_steps",
    "lr_factor",
    "min_lr",
    "weight_decay",
    "seed",
    "workers",
    "device",
    "deterministic",
    "threads",
    "amp",
    "val_every",
    "limit_train",
    "limit_val",
    "flip_test",
    "augment",
    "sigma",
    "budget_seconds",
    "drop_path_schedule",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a fixed network on COCO-format keypoints",
        description="Train the network of FILE (a net, or a subnet of a space named with "
        "--config/--largest/--smallest) on DIR/annotations/person_keypoints_"
        "train.json with Adam, validating on the val split every epoch (COCO "
        "OKS AP). RUN_DIR gets a checkpoint after every epoch, metrics.jsonl and "
        "best.safetensors; --resume continues a killed run exactly. See "
        "docs/training.md.",
    )
    p.add_argument("file", metavar="FILE")
    add_config_options(p)
    add_training_options(p)
    p.add_argument(
        "--init",
        metavar="WEIGHTS",
        help="start from these weights instead of a random initialisation: a "
        ".safetensors file of the network, or a search's best/ folder (its config.json "
        "names the subnet, its weights.safetensors are inherited): fine-tuning",
    )
    p.set_defaults(run=run)


def add_training_options(p: argparse.ArgumentParser, skip: frozenset[str] = frozenset()) -> None:
    """The options of a training run (`TrainConfig`), shared by `archc supernet train` and
    `archc search --strategy darts|sync|gumbel`; `skip` names (by dest) those a
    command defines itself."""
    opt = _adder(p, skip)
    opt("--data", metavar="DIR", help="data directory (annotations/ and images/)")
    opt("--out", metavar="RUN_DIR", help="run directory (default runs/NET)")
    opt("--resume", action="store_true", help="continue the run in RUN_DIR")
    opt("--epochs", type=values.POSITIVE, metavar="N", help="epochs (default 140)")
    opt(
        "--budget-seconds",
        type=values.RATE,
        metavar="S",
        help="train for about S seconds: the run fixes its length after the first epoch "
        "to the whole number of such epochs nearest to S (at most --epochs), so every "
        "schedule ends on time",
    )
    opt("--batch", type=values.POSITIVE, metavar="B", help="batch size (default 32)")
    opt("--lr", type=values.RATE, help="initial learning rate (default 1e-3)")
    opt(
        "--schedule",
        choices=("step", "cosine"),
        help="learning-rate schedule (default step: x0.1 at 90/140 and 120/140 of the epochs)",
    )
    opt(
        "--lr-steps",
        type=_epochs,
        metavar="E1,E2",
        help="epochs after which the step schedule drops the rate (90,120: "
        "epochs 1-90 at --lr, 91-120 at x0.1, then x0.01)",
    )
    opt("--lr-factor", type=values.RATE, help="step schedule factor (default 0.1)")
    opt("--min-lr", type=values.WEIGHT, help="cosine schedule floor (default 0)")
    opt(
        "--drop-path-schedule",
        choices=("constant", "linear"),
        help="drop-path rates: as written (constant, the default) or ramped linearly "
        "from 0 over the epochs (DARTS)",
    )
    opt("--weight-decay", type=values.WEIGHT, help="Adam weight decay (default 0)")
    opt(
        "--seed",
        type=values.NATURAL,
        metavar="S",
        help="seed of initialisation, shuffling and augmentation (default 0)",
    )
    opt(
        "--workers",
        type=values.NATURAL,
        metavar="W",
        help="data loading processes (default min(4, CPUs)); results do not depend on it",
    )
    opt("--device", choices=("auto", "cpu", "cuda"), help="default auto")
    opt(
        "--deterministic",
        action="store_const",
        const=True,
        help="deterministic algorithms and pinned CPU threads (bit-reproducible)",
    )
    opt("--threads", type=values.POSITIVE, metavar="T", help="CPU threads for torch")
    opt(
        "--no-amp", dest="amp", action="store_const", const=False, help="no mixed precision on CUDA"
    )
    opt(
        "--val-every",
        type=values.POSITIVE,
        metavar="N",
        help="validate every N epochs (default 1; the last epoch always)",
    )
    opt("--limit-train", type=values.POSITIVE, metavar="N", help="use the first N train images")
    opt("--limit-val", type=values.POSITIVE, metavar="N", help="use the first N val images")
    opt(
        "--no-flip",
        dest="flip_test",
        action="store_const",
        const=False,
        help="validate without the flip test",
    )
    opt(
        "--no-augment",
        dest="augment",
        action="store_const",
        const=False,
        help="no scale/rotation/flip augmentation",
    )
    opt(
        "--sigma",
        type=values.RATE,
        metavar="S",
        help="Gaussian target sigma in heatmap "
        "pixels (default 2 at 64x48, scaled with the heatmap height)",
    )


def _adder(p: argparse.ArgumentParser, skip: frozenset[str]):
    def add(*flags: str, **kwargs: Any) -> None:
        dest = kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_")
        if dest not in skip:
            p.add_argument(*flags, **kwargs)

    return add


def _epochs(text: str) -> tuple[int, ...]:
    try:
        return tuple(values.POSITIVE(e) for e in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"not a list of epochs >= 1: {values.shown(text)} (e.g. 90,120)"
        ) from None


_epochs.bad = ["0", "90,x", "-1,2"]  # for tests/cli/test_exit_codes.py


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    return {f: getattr(args, f) for f in FIELDS if getattr(args, f) is not None}


def init_files(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """(weights, config) named by --init: a file, or a search's best/ folder."""
    init = getattr(args, "init", None)
    if init is None:
        return None, None
    path = Path(init)
    if path.is_dir():
        weights, config = path / "weights.safetensors", path / "config.json"
        if not weights.is_file():
            raise CliFailure(f"--init {init}: no weights.safetensors there (a search's best/)")
        return weights, config if config.is_file() else None
    if not path.is_file():
        raise CliFailure(f"--init {init}: no such file or folder")
    return path, None


def build_net(space, args: argparse.Namespace, seed: int, saved_choices: Any = None):
    """(module, geometry, net record) of FILE, or of the subnet the options name; with
    --init, the module holds those weights."""
    import torch

    from archc.compiler.space import Config, ConfigError
    from archc.runtime.train import TrainError, geometry_of
    from archc.runtime.weights import WeightsError, load_weights
    from archc.torch import build_module

    init_weights, init_config = init_files(args)
    config = chosen_config(space, args)
    if config is None and init_config is not None and space.choices:
        try:
            config = space.validate(Config.load(init_config))
        except ConfigError as err:
            raise CliFailure(str(err)) from None
    if config is None and saved_choices is not None:
        try:
            config = space.validate(Config.from_dict(saved_choices, "the run's config.json"))
        except ConfigError as err:
            raise CliFailure(str(err)) from None
    if config is None:
        n = len(space.choices)
        raise CliFailure(
            f"{args.file} is a search space with {n} choice{'s' * (n != 1)}: "
            "derive a subnet first (--config C.json, --largest or --smallest; "
            "configs come from `archc sample` or a search), or give a net"
        )
    fixed = space.derive(config) if space.choices else space
    try:
        geometry = geometry_of(fixed)
    except TrainError as err:
        raise CliFailure(f"{args.file}: {err}") from None
    torch.manual_seed(seed)
    module = build_module(fixed)
    record = {
        "file": str(Path(args.file).resolve()),
        "choices": config.to_dict() if space.choices else None,
        "defines": list(getattr(args, "defines", None) or []),
    }
    if init_weights is not None and saved_choices is None:  # a resume has its own weights
        try:
            load_weights(module, init_weights)
        except WeightsError as err:
            raise CliFailure(f"--init: {err}") from None
        record["init"] = str(init_weights.resolve())
    return module, geometry, record


def _config(args: argparse.Namespace, out: Path):
    """The run's TrainConfig and saved net record (None for a new run)."""
    from archc.runtime.train import TrainConfig
    from archc.runtime.train.checkpoint import CONFIG_FILE, read_run_config

    options = given_options(args)
    if "data" in options:  # absolute, so that a resume from another folder finds it
        options["data"] = str(Path(options["data"]).resolve())
    if args.resume:
        if not (out / CONFIG_FILE).is_file():
            raise CliFailure(
                f"--resume: {out} holds no run to resume (no {CONFIG_FILE}); "
                "start a new run without --resume"
            )
        saved, net = read_run_config(out)
        return TrainConfig.from_dict({**saved.to_dict(), **options}), net
    if args.data is None:
        raise UsageError("--data DIR is required (a folder with annotations/ and images/)")
    cores = os.cpu_count() or 1
    options.setdefault("workers", min(4, cores))
    # data workers and torch threads share the cores: oversubscribing them was 8x slower
    # on a 2-core machine (1.0 vs 7.8 crops/s)
    options.setdefault("threads", max(1, cores - options["workers"]))
    return TrainConfig(**options), None


def run(args: argparse.Namespace) -> int:
    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.train import TrainError, fit
    from archc.runtime.weights import WeightsError

    if args.resume and args.out and not args.defines:
        args.defines = saved_defines(Path(args.out))  # the run's own constants
    space = load_space(args.file, args.defines)
    out = Path(args.out) if args.out else Path("runs") / space.name
    try:
        config, saved_net = _config(args, out)
        module, geometry, net = build_net(
            space, args, config.seed, (saved_net or {}).get("choices")
        )
        if saved_net is not None:
            _check_same_net(out, saved_net, geometry.name, net, args.file)
        report = _Report(module, geometry, out, config)
        fit(
            module,
            geometry,
            config,
            out,
            net_info=net,
            resume=args.resume,
            on_start=report.start,
            on_epoch=report.epoch,
            progress=_progress,
        )
    except (TrainError, WeightsError, PoseDataError) as err:
        raise CliFailure(str(err)) from None
    except OSError as err:
        raise CliFailure(describe(err, out)) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(interrupted_note(out, f"archc train {args.file}")) from None
    report.done()
    return 0


def saved_defines(out: Path) -> list[str]:
    """The `-D` constants a run was started with (none if the folder says nothing)."""
    try:
        return list(json.loads((out / "config.json").read_text())["net"].get("defines", []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []  # the resume itself reports what is wrong with the folder


def interrupted_note(out: Path, command: str) -> str:
    """What an interrupted run kept, and the command that continues it."""
    from archc.runtime.train.checkpoint import LAST

    try:
        epoch = json.loads((out / LAST).read_text(encoding="utf-8"))["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return (
            f"no epoch finished, so {out} holds no checkpoint yet; `{command} --out {out} "
            "--resume` starts it again with the same options"
        )
    return (
        f"{out} holds the checkpoint of epoch {epoch}; `{command} --out {out} --resume` "
        "continues from there"
    )


def _check_same_net(
    out: Path, saved: dict[str, Any], name: str, net: dict[str, Any], file: str
) -> None:
    if saved.get("name") != name:
        raise CliFailure(f"{out} trains `{saved.get('name')}`, not `{name}` of {file}")
    if saved.get("choices") and saved["choices"].get("choices") != net["choices"]["choices"]:
        raise CliFailure(
            f"{out} trains the subnet {saved['choices']['choices']}, not "
            f"{net['choices']['choices']}; resume without a config option"
        )


def _progress(iterable, total: int, desc: str):
    """A tqdm bar on stderr when it is a terminal (tqdm is optional), from rank 0 only."""
    if not sys.stderr.isatty() or os.environ.get("RANK", "0") != "0":
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="batch", leave=False, file=sys.stderr)


class _Report:
    """What is trained where, one line per epoch on stdout, and where the weights are."""

    def __init__(self, module, geometry, out: Path, config) -> None:
        self.module, self.geometry, self.out, self.config = module, geometry, out, config
        self.last: dict[str, Any] | None = None

    def start(self, info: dict[str, Any]) -> None:
        g, config = self.geometry, self.config
        params = sum(p.numel() for p in self.module.parameters())
        (h, w), (hh, hw) = g.input_size, g.heatmap_size
        where = (
            f"{info['device']}{' amp' if info['amp'] else ''}, {info['threads']} thread"
            f"{'s' * (info['threads'] != 1)}"
        )
        at = f", resuming after epoch {info['start_epoch']}" if info["start_epoch"] else ""
        print(
            f"training {g.name} ({params:,} params, input {h}x{w}, heatmaps "
            f"{g.num_keypoints}x{hh}x{hw}) on {info['train_persons']} train / "
            f"{info['val_persons']} val persons{skipped_text(info.get('skipped', {}))} for "
            f"{_length_text(config)} ({where}) in {self.out}{at}",
            flush=True,
        )

    def epoch(self, r: dict[str, Any]) -> None:
        self.last = r
        ap = (
            ""
            if r["AP"] is None
            else f"  AP {r['AP']:.4f} (best {r['best_AP']:.4f} @ {r['best_epoch']})"
        )
        print(
            f"epoch {r['epoch']}/{r['epochs']}: loss {r['loss']:.6f}  lr {r['lr']:.2e}{ap}"
            f"  {r['images_per_s']:.1f} img/s  {r['seconds']:.1f} s",
            flush=True,
        )

    def done(self) -> None:
        if self.last is None:
            print(f"nothing to do: {self.out} has finished its {_epochs_text(self.config.epochs)}")
            return
        print(
            f"weights: {self.out / 'last.safetensors'} (last), "
            f"{self.out / 'best.safetensors'} (best AP)"
        )


def skipped_text(skipped: dict[str, Any]) -> str:
    """What the loaders left out by design (crowd regions, persons without labelled
    keypoints, empty boxes), counted, so that a data set read mostly as skipped shows."""
    parts = [
        f"{split} " + ", ".join(f"{n} {why}" for why, n in sorted(counts.items()) if n)
        for split, counts in skipped.items()
        if any(counts.values())
    ]
    return f" (skipped by design: {'; '.join(parts)})" if parts else ""


def _length_text(config) -> str:
    """`20 epochs`, or with a time budget not yet spent on a first epoch, what it will do."""
    if config.budget_seconds is None:
        return _epochs_text(config.epochs)
    return f"about {config.budget_seconds:g} s (at most {_epochs_text(config.epochs)})"


def _epochs_text(n: int) -> str:
    return f"{n} epoch{'s' * (n != 1)}"
