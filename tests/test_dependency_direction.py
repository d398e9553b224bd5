"""Imports point one way (STYLE.md, docs/architecture.md "The rooms").

The rules are import-linter contracts in pyproject.toml (`[tool.importlinter]`), checked
on a copy of the sources in the installed layout by `scripts/lint_imports.py` (also
`make imports`, part of `make test`). grimp reads the source, so an import inside a
function counts as much as one at the top. What a contract cannot say, that `archc check`
starts without torch, is checked here by running it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "onnx", "onnxruntime", "onnxscript")


def _script():
    spec = importlib.util.spec_from_file_location("lint_imports", REPO / "scripts/lint_imports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lint_imports():
    pytest.importorskip("importlinter", reason="import-linter is in the dev extra")
    return _script()


def test_the_import_contracts_hold(lint_imports) -> None:
    proc = lint_imports.run(["--no-logo"], capture=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout
    assert proc.stdout.count("KEPT") >= 7


def test_the_copy_holds_every_source_file_in_the_installed_layout(lint_imports, tmp_path) -> None:
    root = lint_imports.assemble(tmp_path / "src")
    assert (root / "archc/dsl/parser.py").is_file()
    assert (root / "archc/compiler/lower.py").is_file()
    assert (root / "archc/kernel/symbolic.py").is_file()
    for package, folder in lint_imports.package_dirs().items():
        dest = root.joinpath(*package.split("."))
        sources = [p.relative_to(REPO / folder) for p in (REPO / folder).rglob("*.py")]
        assert [s for s in sources if not (dest / s).is_file()] == []


def test_a_broken_contract_is_reported(lint_imports, tmp_path) -> None:
    """The contracts read the copy, not the editable install: a module added to the copy
    that breaks two of them is reported, with its name."""
    root = lint_imports.assemble(tmp_path / "src")
    (root / "archc/dsl/_bad.py").write_text("def f():\n    import torch\n    import archc.cli\n")
    proc = lint_imports.lint(root, ["--no-logo"], capture=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the front end imports no compiler, runtime, CLI, facade, torch or onnx BROKEN" in (
        proc.stdout
    )
    assert "nothing but the CLI imports the CLI BROKEN" in proc.stdout
    assert "archc.dsl._bad -> torch" in proc.stdout


def test_front_end_and_cli_start_without_torch(tmp_path: Path) -> None:
    """`archc check` must start fast: the front end and the CLI never load torch."""
    code = (
        "import pkgutil, sys\n"
        "import archc.dsl, archc.kernel, archc.cli.main\n"
        "for package in (archc.dsl, archc.kernel):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        __import__(info.name)\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
