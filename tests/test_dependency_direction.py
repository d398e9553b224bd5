"""Imports point one way (DESIGN.md, "Dependency direction").

- `dsl/` imports nothing of `archc.compiler`, `archc.runtime` or `archc.cli`, and no torch
  (nor onnx/onnxruntime: `archc check` must start fast);
- `compiler/` imports neither `archc.runtime` nor `archc.cli` nor torch/onnx, except the
  torch and onnx backends (`compiler/backends/torch*`, `compiler/backends/onnx*`), which
  may import torch and `archc.runtime`;
- `grammars/` imports nothing of archc but itself;
- `runtime/ops/` (the torch records of the ops) imports of the compiler only the op rules'
  helpers (`archc.compiler.ops`: `same_padding`, ...), never the compiler core: the
  backend passes `upper_bound` in.

The source is read with `ast`, so a violation is found even in a module no test imports,
and an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "onnx", "onnxruntime", "onnxscript")


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def forbidden_for(path: PurePosixPath) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(forbidden, allowed) module prefixes for the file at `path` (relative to the repository).

    A name is a violation when it is within a forbidden prefix and not within an allowed
    one. `None` means the file is not covered by a rule.
    """
    parts = path.parts
    if parts[0] == "dsl":
        return ("archc.compiler", "archc.runtime", "archc.cli", *HEAVY), ()
    if parts[0] == "compiler":
        if len(parts) >= 3 and parts[1] == "backends" and parts[2].startswith(("torch", "onnx")):
            return ("archc.cli",), ()
        return ("archc.runtime", "archc.cli", *HEAVY), ()
    if parts[0] == "grammars":
        return ("archc",), ("archc.grammars",)
    if parts[:2] == ("runtime", "ops"):
        return ("archc.compiler", "archc.cli"), ("archc.compiler.ops",)
    return None


def module_name(path: PurePosixPath) -> str:
    """`dsl/parser.py` -> `archc.dsl.parser`; `dsl/__init__.py` -> `archc.dsl`."""
    parts = ["archc", *path.with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in `source`, relative ones resolved.

    `from a import b` yields both `a` and `a.b` (b may be a submodule), and a call of
    `importlib.import_module("x")` or `__import__("x")` with a literal name yields `x`.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node.lineno, arg.value


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def violations(path: PurePosixPath, source: str) -> list[tuple[int, str]]:
    """(line, module) of every import in `source` that the rule for `path` forbids."""
    rule = forbidden_for(path)
    if rule is None:
        return []
    forbidden, allowed = rule
    found = set()
    for line, name in imported_modules(source, module_name(path), path.name == "__init__.py"):
        # `archc` itself is the namespace root: importing it is importing nothing.
        if name != "archc" and _within(name, forbidden) and not _within(name, allowed):
            found.add((line, name))
    return sorted(found)


def _source_files() -> list[PurePosixPath]:
    files = []
    for folder in ("dsl", "compiler", "grammars", "runtime/ops"):
        files += [
            PurePosixPath(p.relative_to(REPO).as_posix()) for p in (REPO / folder).rglob("*.py")
        ]
    return sorted(files)


def test_the_rules_cover_the_front_end() -> None:
    files = _source_files()
    assert PurePosixPath("dsl/parser.py") in files
    assert all(forbidden_for(f) is not None for f in files)


@pytest.mark.parametrize("path", _source_files(), ids=str)
def test_imports_point_one_way(path: PurePosixPath) -> None:
    found = violations(path, (REPO / path).read_text())
    assert [f"{path}:{line}: imports {name}" for line, name in found] == []


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("dsl/x.py", "import torch.nn as nn", [(1, "torch.nn")]),
        ("dsl/x.py", "def f():\n    from archc import compiler", [(2, "archc.compiler")]),
        (
            "dsl/x.py",
            "from ..runtime.ops import conv",
            [(1, "archc.runtime.ops"), (1, "archc.runtime.ops.conv")],
        ),
        ("dsl/x.py", "from . import parser\nfrom archc.grammars import GRAMMAR_PATH", []),
        ("dsl/sub/__init__.py", "from .. import ast", []),
        ("dsl/x.py", "import importlib\nimportlib.import_module('torch')", [(2, "torch")]),
        ("compiler/passes/cost.py", "import torch", [(1, "torch")]),
        (
            "compiler/passes/cost.py",
            "from archc.runtime import ops",
            [(1, "archc.runtime"), (1, "archc.runtime.ops")],
        ),
        ("compiler/lower.py", "from archc.dsl import ast", []),
        ("compiler/backends/torch_supernet.py", "import torch\nfrom archc.runtime import ops", []),
        ("compiler/backends/torch/build.py", "import torch", []),
        ("compiler/backends/onnx.py", "import onnx, torch", []),
        ("compiler/backends/graphviz.py", "import torch", [(1, "torch")]),
        (
            "grammars/__init__.py",
            "from archc.dsl import parser",
            [(1, "archc.dsl"), (1, "archc.dsl.parser")],
        ),
        ("grammars/std/__init__.py", "from archc.grammars import STD_DIR", []),
        ("grammars/std/__init__.py", "from ... import cli", [(1, "archc.cli")]),
        ("grammars/__init__.py", "import archc", []),
        ("runtime/ops/conv.py", "from archc.compiler.ops.padding import same_padding", []),
        (
            "runtime/ops/conv.py",
            "from archc.compiler.decide import upper_bound",
            [(1, "archc.compiler.decide"), (1, "archc.compiler.decide.upper_bound")],
        ),
    ],
)
def test_the_import_checker(path: str, source: str, expected: list[tuple[int, str]]) -> None:
    assert violations(PurePosixPath(path), source) == expected


def test_front_end_and_cli_start_without_torch(tmp_path: Path) -> None:
    """`archc check` must start fast: the front end and the CLI never load torch."""
    code = (
        "import pkgutil, sys\n"
        "import archc.dsl, archc.cli.main\n"
        "for info in pkgutil.walk_packages(archc.dsl.__path__, 'archc.dsl.'):\n"
        "    __import__(info.name)\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
