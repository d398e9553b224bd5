"""The key-net options of the temporal commands (`--key-net`, `--key-weights`,
`--key-config`) and the key net they name, compiled and loaded.

Two ways to name a key net (runtime/temporal/keynet.py says why): the folder
of an `archc train` run, or a net or space file with its weights (and, for a
space, the subnet's config: a search's best/config.json). The record the
temporal run keeps (file, weights and their sha256, subnet, constants) is
what a resume or a search rebuilds the same key net from.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from archc.cli.common import CliFailure, UsageError, load_space


def add_key_net_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    need = "" if required else " (default: the supernet run's own)"
    parser.add_argument(
        "--key-net",
        metavar="RUN|FILE",
        help="the fixed key-frame net: an `archc train` run folder, or a net/space file "
        f"with --key-weights{need}",
    )
    parser.add_argument(
        "--key-weights", metavar="W.safetensors", help="weights of a --key-net FILE"
    )
    parser.add_argument(
        "--key-config",
        metavar="C.json",
        help="the subnet of a --key-net space (e.g. a search's best/config.json)",
    )


def key_net_files(args: argparse.Namespace):
    """The `KeyNetFiles` the options name (None where --key-net is not given)."""
    from archc.runtime.temporal.keynet import KeyNetFiles, run_files
    from archc.runtime.train import TrainError

    if args.key_net is None:
        if args.key_weights or args.key_config:
            raise UsageError("--key-weights and --key-config go with --key-net FILE")
        return None
    path = Path(args.key_net)
    if path.is_dir():
        if args.key_weights or args.key_config:
            raise UsageError(
                f"--key-net {path} is a run folder: it names its own weights and subnet"
            )
        try:
            return run_files(path)
        except TrainError as err:
            raise CliFailure(str(err)) from None
    if not path.is_file():
        raise CliFailure(f"--key-net {path}: no such run folder or file")
    if args.key_weights is None:
        raise UsageError(f"--key-net {path} is a file: give its weights with --key-weights")
    weights = Path(args.key_weights)
    if not weights.is_file():
        raise CliFailure(f"--key-weights {weights}: no such file")
    choices = None
    if args.key_config:
        from archc.compiler.space import Config, ConfigError

        try:
            choices = dict(Config.load(args.key_config))
        except ConfigError as err:
            raise CliFailure(str(err)) from None
    return KeyNetFiles(path.resolve(), weights.resolve(), choices)


def load_key_net(files, defines: list[str] | None = None) -> Any:
    """The frozen key net of `files`, compiled with the run's constants (`-D` given to
    the temporal command apply to the key net's file too, where it has them)."""
    from archc.compiler.space import ConfigError
    from archc.runtime.temporal.keynet import KeyNet
    from archc.runtime.train import TrainError

    own = list(files.defines) if files.defines is not None else _shared_defines(files.file, defines)
    space = load_space(str(files.file), own)
    try:
        if space.choices and files.choices is None:
            raise CliFailure(
                f"--key-net {files.file} is a search space: name its subnet with --key-config "
                "(e.g. a search's best/config.json)"
            )
        fixed = space.derive(space.validate(files.choices)) if space.choices else space
        return KeyNet.build(fixed, files.weights, files.to_dict() | {"defines": own})
    except (ConfigError, TrainError) as err:
        raise CliFailure(f"--key-net {files.file}: {err}") from None


def _shared_defines(file: Path, defines: list[str] | None) -> list[str]:
    """The -D constants that `file` declares too (INPUT, HEATMAPS, ...), so one -D
    resizes the key net with the temporal space."""
    if not defines:
        return []
    import re

    text = file.read_text(encoding="utf-8", errors="replace")
    declared = set(re.findall(r"^\s*const\s+([A-Za-z_]\w*)", text, flags=re.MULTILINE))
    return [d for d in defines if d.partition("=")[0].strip() in declared]


def saved_key_net(record: dict, where: str):
    """The `KeyNetFiles` a temporal run recorded, refused if the weights changed since."""
    from archc.runtime.temporal.keynet import KeyNetFiles, sha256_file

    try:
        key = record["key_net"]
        files = KeyNetFiles(
            Path(key["file"]), Path(key["weights"]), key.get("choices"), key.get("defines")
        )
    except (KeyError, TypeError):
        raise CliFailure(f"{where}: the run does not record its key net") from None
    if not files.weights.is_file():
        raise CliFailure(f"{where}: the run's key-net weights {files.weights} are gone")
    if sha256_file(files.weights) != key.get("weights_sha256"):
        raise CliFailure(
            f"{where}: the key-net weights {files.weights} changed since the run started"
        )
    if files.defines is not None:
        files = KeyNetFiles(files.file, files.weights, files.choices, tuple(files.defines))
    return files
