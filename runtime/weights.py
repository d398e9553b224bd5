"""Weights on disk: safetensors files, written atomically, loaded with clear errors.

safetensors holds tensors only (no pickled code runs on load), which is why
supernet and training checkpoints use it. A file made for another space, or for
the same space built with other realisations, fails with the names and shapes
that differ instead of torch's wall of text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from archc.kernel.files import write_atomic

MAX_LISTED = 5


class WeightsError(ValueError):
    """A weights file that is missing, unreadable or does not fit the module."""


METADATA_KEY = "archc"


def tensors_bytes(state: dict[str, torch.Tensor], metadata: dict | None = None) -> bytes:
    """A safetensors file's bytes, the same for the same tensors and metadata.

    safetensors writes its metadata map in a random order (a Rust hash map), so
    two identical checkpoints would differ; the metadata is therefore one key,
    `archc`, holding sorted JSON, and a file's hash can check a reproducible run.
    """
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    meta = None if metadata is None else {METADATA_KEY: json.dumps(metadata, sort_keys=True)}
    return save(tensors, metadata=meta)


def save_weights(
    module: torch.nn.Module, path: str | os.PathLike, metadata: dict | None = None
) -> Path:
    """The module's state dict (parameters and buffers) as one safetensors file."""
    return write_atomic(path, tensors_bytes(module.state_dict(), metadata))


ZIP_MAGIC = b"PK\x03\x04"  # torch.save's archive (a pickle inside a zip)
PICKLE_PROTOCOLS = range(2, 6)  # a bare pickle starts with 0x80 and its protocol


def _is_pickle(head: bytes) -> bool:
    """Whether a file starting with `head` (9 bytes) is torch.save's zip or a bare pickle.

    Why not just the magic bytes: a safetensors file starts with its header's length
    (8 bytes, little-endian) and then `{`, so a header of 640 bytes also starts with
    0x80 0x02; a file that is laid out as safetensors is never taken for a pickle."""
    if head[8:9] == b"{":
        return False
    return head.startswith(ZIP_MAGIC) or (head[:1] == b"\x80" and head[1] in PICKLE_PROTOCOLS)


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file. A pickle (`torch.save`) is refused before
    anything in it is read: unpickling runs code."""
    file = Path(path)
    if not file.is_file():
        raise WeightsError(f"{file}: no such weights file")
    with file.open("rb") as f:
        head = f.read(9)
    if _is_pickle(head):
        raise WeightsError(
            f"{file}: a pickle or torch.save file; archc reads safetensors only and never "
            "unpickles (convert it with safetensors.torch.save_file(torch.load(...)) "
            "where you trust the file)"
        )
    try:
        return load_file(file)
    except (SafetensorError, OSError, ValueError) as err:
        raise WeightsError(f"{file}: not a readable safetensors file ({err})") from None


def load_weights(module: torch.nn.Module, path: str | os.PathLike) -> None:
    """Load `path` into `module`, which must have exactly the same names and shapes."""
    state = read_weights(path)
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{k} {list(state[k].shape)} (the module needs {list(own[k].shape)})"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems = [
        f"{label}: {_few(items)}"
        for label, items in (
            ("missing", missing),
            ("not in the module", unexpected),
            ("other shapes", mismatched),
        )
        if items
    ]
    if problems:
        raise WeightsError(
            f"{path} does not fit this module (weights of another space or "
            f"of other realisations?); " + "; ".join(problems)
        )
    _check_values(path, state, own)
    module.load_state_dict(state, strict=True)


def _check_values(path, state: dict[str, torch.Tensor], own: dict[str, torch.Tensor]) -> None:
    """Refuse integer tensors for float ones (a copy would truncate silently) and
    non-finite values (a diverged run: every prediction would be NaN, AP 0)."""
    wrong = [
        f"{k} ({state[k].dtype}, the module needs {own[k].dtype})"
        for k in own
        if own[k].is_floating_point() and not state[k].is_floating_point()
    ]
    if wrong:
        raise WeightsError(f"{path}: integer tensors where floats are needed: {_few(wrong)}")
    bad = [k for k in own if state[k].is_floating_point() and not torch.isfinite(state[k]).all()]
    if bad:
        raise WeightsError(
            f"{path}: NaN or infinite values in {len(bad)} tensors ({_few(bad)}): the run "
            "that wrote them diverged; take an earlier checkpoint"
        )


def _few(items: list[str]) -> str:
    more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more
