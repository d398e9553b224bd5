"""What each command needs beyond the core packages, checked before it starts.

Why up front: a command that imports an optional package only when it reaches
it fails late (`train` without pycocotools used to train a whole epoch and lose
it at validation) and as an "internal error". `check(command)` looks the
packages up without importing them and names the extra that installs them; a
missing optional package met later anyway (`missing_extra`) gets the same line.
"""

from __future__ import annotations

import importlib.util
import sys

from archc.cli.common import CliFailure

# package (import name) -> the extra of pyproject.toml that installs it
EXTRAS = {
    "torch": "torch",
    "safetensors": "torch",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "PIL": "pose",
    "pycocotools": "pose",
    "tqdm": "onnx",  # lut's progress bar (train and data synth use it when present)
    "pymoo": "search",
    "matplotlib": "search",
    "pygls": "lsp",
    "ray": "ray",
}
_TRAINING = ("torch", "safetensors", "PIL", "pycocotools")
NEEDS: dict[str, tuple[str, ...]] = {
    "train": _TRAINING,
    "eval": _TRAINING,
    "supernet": _TRAINING,
    "video": _TRAINING,
    "search": (*_TRAINING, "pymoo", "matplotlib"),
    "export": ("torch", "safetensors", "onnx", "onnxruntime"),
    "latency": ("torch", "onnx", "onnxruntime"),
    "lut": ("onnx", "onnxruntime", "tqdm"),
    "data": ("PIL",),
    "lsp": ("pygls",),
}
# what an option that is on adds: (command, option dest) -> packages. A search writes
# best/ with its ONNX file unless --no-export: found missing only then, after the search
WHEN: dict[tuple[str, str], tuple[str, ...]] = {("search", "export"): ("onnx", "onnxruntime")}


def check(command: str, args: object = None) -> None:
    """`CliFailure` naming every package `command` (with the options in `args`) needs
    that is not installed."""
    missing = [name for name in needs(command, args) if not _installed(name)]
    if missing:
        raise CliFailure(_needs(command, missing))


def require(command: str, *names: str) -> None:
    """`CliFailure` naming the packages of `names` that are not installed (an option
    whose need depends on its value: `search --workers 2` needs Ray, 1 does not)."""
    missing = [name for name in names if not _installed(name)]
    if missing:
        raise CliFailure(_needs(command, missing))


def needs(command: str, args: object = None) -> tuple[str, ...]:
    """The optional packages of `command` with the options in `args`."""
    extra = [
        p for (c, dest), ps in WHEN.items() if c == command and getattr(args, dest, 0) for p in ps
    ]
    return (*NEEDS.get(command, ()), *dict.fromkeys(extra))


def missing_extra(command: str, err: ModuleNotFoundError) -> str | None:
    """The line for an optional package found missing while running, else None."""
    top = (err.name or "").split(".")[0]
    return _needs(command, [top]) if top in EXTRAS else None


def _needs(command: str, missing: list[str]) -> str:
    extras = ",".join(sorted({EXTRAS[name] for name in missing}))
    return f"archc {command} needs {', '.join(missing)}: pip install 'archc[{extras}]'"


def _installed(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
