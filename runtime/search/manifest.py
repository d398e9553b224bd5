"""`manifest.json`: what a search folder was made from, and the check that a resume is
the same search.

A search is resumed by replaying its trial log, which is only right if
everything that decides the proposals and the measurements is unchanged: the
`.arch` sources (with every file they import), the supernet's weights, the
options, the seed. The manifest records their sha256 and values when the
search starts; `--resume` refuses, naming what changed, when any differs.
Options that only decide how fast or where the work runs (threads, device,
workers) and the number of evaluations (a search may be extended) may change.

Versioned: `format` names the document, `version` its layout (docs/search.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archc.kernel.files import write_atomic
from archc.runtime.search.strategies.base import SearchError

MANIFEST = "manifest.json"
FORMAT = "archc-search-run"
VERSION = 1
MAY_CHANGE = frozenset(
    {"evaluations", "budget_seconds", "threads", "device", "workers", "ray_address"}
)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def portable_sources(sources: Mapping[str, str], main: str | Path) -> dict[str, str]:
    """`sources` keyed by path relative to the main file's folder (the standard library
    keeps its `std/...` names, and a `-D NAME` definition its own), so a search resumed
    from another working directory or after moving the project finds the same sources."""
    base = Path(main).resolve().parent
    out = {}
    for name, text in sources.items():
        path = Path(name)
        if name.startswith("-D ") or (name.startswith("std/") and not path.exists()):
            out[name] = text
            continue
        out[os.path.relpath(path.resolve(), base)] = text
    return out


def make_manifest(
    kind: str,
    options: Mapping[str, Any],
    sources: Mapping[str, str],
    inputs: Mapping[str, str],
) -> dict[str, Any]:
    """The manifest of a new search: `sources` maps .arch file names to their text,
    `inputs` other files (supernet weights, latency table) to their paths."""
    import archc

    versions = {"archc": archc.__version__, "python": platform.python_version()}
    try:
        import torch

        versions["torch"] = torch.__version__
    except ImportError:  # a torch-free search (a synthetic objective)
        pass
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "versions": versions,
        "options": dict(options),
        "sources": {name: sha256_text(text) for name, text in sorted(sources.items())},
        "inputs": {
            name: {"path": str(path), "sha256": sha256_file(path)}
            for name, path in sorted(inputs.items())
        },
    }


def write(folder: Path, manifest: Mapping[str, Any]) -> None:
    write_atomic(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def read(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SearchError(f"{folder}: no {MANIFEST}; nothing to resume there") from None
    except (OSError, ValueError) as err:
        raise SearchError(f"{path}: unreadable ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SearchError(f"{path}: not an archc search manifest")
    if doc.get("version") != VERSION:
        raise SearchError(
            f"{path}: a search folder of layout version {doc.get('version')}; this archc "
            f"reads version {VERSION}"
        )
    return doc


def differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What makes `now` another search than `saved`, as phrases (empty: the same)."""
    out = []
    if saved["kind"] != now["kind"]:
        out.append(f"the search is a {now['kind']} search, the folder holds a {saved['kind']} one")
    for name in sorted(set(saved["options"]) | set(now["options"])):
        if name in MAY_CHANGE:
            continue
        old, new = saved["options"].get(name), now["options"].get(name)
        if old != new:
            out.append(f"option {name}: {new!r} (the search has {old!r})")
    if saved["sources"] != now["sources"]:
        changed = sorted(
            n
            for n in set(saved["sources"]) | set(now["sources"])
            if saved["sources"].get(n) != now["sources"].get(n)
        )
        out.append(f"the .arch sources changed: {', '.join(changed)}")
    for name in sorted(set(saved["inputs"]) | set(now["inputs"])):
        old, new = saved["inputs"].get(name), now["inputs"].get(name)
        if (old or {}).get("sha256") != (new or {}).get("sha256"):
            out.append(f"the {name} file differs from the one the search started with")
    return out
