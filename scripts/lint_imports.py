"""Check the import contracts of pyproject.toml (`[tool.importlinter]`) with import-linter.

import-linter's graph builder (grimp) finds a package by its folder, but `dsl/`,
`compiler/`, `runtime/` and `grammars/` become `archc.dsl`, ... only through setuptools'
`package-dir` mapping, so `lint-imports` run in the repository says "Module 'archc.dsl'
does not exist". This script copies every `.py` file into the installed layout
(`dsl/parser.py` -> `archc/dsl/parser.py`) in a temporary folder and runs `lint-imports`
there, with that folder first on `PYTHONPATH` (the editable install's finder comes after
the path finder, so it never shadows the copy). Run by `make imports` (part of
`make test`) and by `tests/test_dependency_direction.py`.

    .venv/bin/python scripts/lint_imports.py [lint-imports options]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def package_dirs(pyproject: Path = REPO / "pyproject.toml") -> dict[str, str]:
    """`archc.dsl` -> `dsl`: setuptools' `package-dir`, as in the wheel."""
    config = tomllib.loads(pyproject.read_text())
    return dict(config["tool"]["setuptools"]["package-dir"])


def assemble(target: Path) -> Path:
    """The `.py` files of every mapped package, copied into the installed layout."""
    for package, folder in package_dirs().items():
        dest = target.joinpath(*package.split("."))
        for source in (REPO / folder).rglob("*.py"):
            relative = source.relative_to(REPO / folder)
            if "__pycache__" in relative.parts:
                continue
            out = dest / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out)
    return target


def lint(root: Path, args: list[str], capture: bool = False) -> subprocess.CompletedProcess:
    """`lint-imports` on an assembled layout `root`, with the repository's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [
        str(Path(sys.executable).with_name("lint-imports")),
        str(REPO / "pyproject.toml"),
        "--no-cache",
        *args,
    ]
    return subprocess.run(
        command, cwd=root.parent, env=env, capture_output=capture, text=True, check=False
    )


def run(args: list[str], capture: bool = False) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="archc-imports-") as tmp:
        return lint(assemble(Path(tmp) / "src"), args, capture)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]).returncode)
