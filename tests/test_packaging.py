"""The distribution: a wheel built from a clean copy of the checkout, installed in a fresh venv.

The repository keeps `dsl/`, `compiler/`, `runtime/` and `grammars/` at its root;
the wheel must map them into the `archc` namespace and ship the grammar and the
standard library. This runs in the default suite (a few seconds): the wheel is built
without build isolation, the venv is created without pip (the running pip installs
into it) and pip's cache is reused.
"""

from __future__ import annotations

import email.parser
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[1]
MINIMAL = REPO / "tests" / "fixtures" / "ok" / "minimal.arch"

# Source folder -> where its files land in the wheel.
SOURCE_ROOTS = {
    "archc": "archc",
    "dsl": "archc/dsl",
    "compiler": "archc/compiler",
    "runtime": "archc/runtime",
    "grammars": "archc/grammars",
}
# Build products that may sit in a checkout (even tracked by mistake) but are not sources.
NOT_SOURCES = (".venv", "build", "dist", ".git")

VENV_MISSING = importlib.util.find_spec("venv") is None
VENV_MISSING_REASON = "`python -m venv` is unavailable in this interpreter"
pytestmark = pytest.mark.skipif(VENV_MISSING, reason=VENV_MISSING_REASON)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, **kwargs)


def _check(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    proc = _run(cmd, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
    return proc


def _checkout_files() -> list[str]:
    """Files a fresh clone would have, plus new files not yet committed (not ignored ones)."""
    if shutil.which("git") and (REPO / ".git").exists():
        out = _check(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO
        ).stdout
        names = [n for n in out.split("\0") if n]
    else:
        names = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file()]
    return sorted(
        n
        for n in names
        if (REPO / n).is_file()
        and not any(
            part in NOT_SOURCES or part.endswith(".egg-info") or part == "__pycache__"
            for part in PurePosixPath(n).parts
        )
    )


@pytest.fixture(scope="module")
def checkout() -> list[str]:
    return _checkout_files()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, checkout: list[str]) -> Path:
    src = tmp_path_factory.mktemp("checkout")
    for name in checkout:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _check(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(src),
        ]
    )
    (built,) = dist.glob("archc-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def _runtime_requirements(wheel: Path) -> list[str]:
    """Requires-Dist entries of the wheel that are not behind an extra."""
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(f"archc-{_version(wheel)}.dist-info/METADATA").decode()
    reqs = email.parser.Parser().parsestr(meta).get_all("Requires-Dist") or []
    return [r for r in reqs if "extra ==" not in r]


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh venv (no system site-packages) with the wheel and its runtime deps only."""
    venv = tmp_path_factory.mktemp("venv")
    _check([sys.executable, "-m", "venv", "--without-pip", "--clear", str(venv)])
    python = venv / "bin" / "python"
    pip = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "--disable-pip-version-check",
        "install",
        "-q",
    ]
    _check([*pip, "--no-deps", str(wheel)])
    _check([*pip, *_runtime_requirements(wheel)])
    return venv / "bin"


def test_wheel_has_only_the_archc_package(wheel: Path, wheel_names: set[str]) -> None:
    top = {name.split("/")[0] for name in wheel_names}
    assert top == {"archc", f"archc-{_version(wheel)}.dist-info"}


def test_wheel_ships_grammar_stdlib_and_front_end(wheel_names: set[str]) -> None:
    for name in (
        "archc/__init__.py",
        "archc/cli/main.py",
        "archc/grammars/arch.lark",
        "archc/dsl/parser.py",
    ):
        assert name in wheel_names
    std = {n for n in wheel_names if n.startswith("archc/grammars/std/") and n.endswith(".arch")}
    assert std, "the wheel has no standard library (archc/grammars/std/*.arch)"


def test_wheel_ships_every_source_file(checkout: list[str], wheel_names: set[str]) -> None:
    """Every .py/.lark/.arch under a mapped folder is in the wheel at its mapped path.

    `pyproject.toml` lists packages explicitly: a new subpackage that is not added
    there works in the editable install but is silently left out of the wheel.
    """
    expected = set()
    for name in checkout:
        root, _, rest = name.partition("/")
        if root in SOURCE_ROOTS and rest and name.endswith((".py", ".lark", ".arch")):
            expected.add(f"{SOURCE_ROOTS[root]}/{rest}")
    assert "archc/dsl/parser.py" in expected  # the listing itself works
    assert sorted(expected - wheel_names) == []


def test_runtime_requirements_exclude_torch(wheel: Path) -> None:
    reqs = _runtime_requirements(wheel)
    assert reqs, "the wheel declares no runtime dependencies"
    assert not [r for r in reqs if r.lower().startswith(("torch", "onnx"))]


def test_installed_archc_version(venv_bin: Path, wheel: Path, tmp_path: Path) -> None:
    proc = _check([str(venv_bin / "archc"), "--version"], cwd=tmp_path)
    assert proc.stdout.strip() == f"archc {_version(wheel)}"


def test_installed_archc_checks_a_valid_file(venv_bin: Path, tmp_path: Path) -> None:
    _check([str(venv_bin / "archc"), "check", str(MINIMAL)], cwd=tmp_path)


def test_installed_archc_rejects_a_broken_file(venv_bin: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.arch"
    broken.write_text(MINIMAL.read_text().replace("conv(8, k=3)", "conv(8, k=3) ->"))
    proc = _run([str(venv_bin / "archc"), "check", str(broken)], cwd=tmp_path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "broken.arch:4:48" in out  # file:line:col of the second `->`
    assert "Traceback" not in out
