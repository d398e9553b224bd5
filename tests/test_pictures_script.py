"""scripts/pictures.py (`make pictures`): one well-formed SVG per chosen example space."""

from __future__ import annotations

import importlib.util
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "pictures.py"
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="graphviz `dot` binary not installed"
)


def load_script():
    """scripts/ is not a package: load the script as a module from its path."""
    spec = importlib.util.spec_from_file_location("pictures_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_dot
def test_renders_the_chosen_spaces(tmp_path: Path, capsys) -> None:
    pictures = load_script()
    names = ["mobile_small", "vipnas_temporal"]
    argv = [arg for name in names for arg in ("--only", name)] + ["--out", str(tmp_path)]
    assert pictures.main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.svg" for n in names]
    for name in names:
        svg = tmp_path / f"{name}.svg"
        root = ET.parse(svg).getroot()  # well-formed XML
        assert root.tag.endswith("svg")
        assert name in svg.read_text(encoding="utf-8")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(names)
    for line, name in zip(lines, names, strict=True):
        assert line.startswith("wrote ") and f"{name}.svg (" in line and line.endswith(" s)")


def test_unknown_space_lists_the_available_ones(tmp_path: Path, capsys) -> None:
    pictures = load_script()
    with pytest.raises(SystemExit) as exit_info:
        pictures.main(["--only", "no_such_space", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no_such_space" in err
    for name in ("mobile_small", "vipnas_temporal", "autopose"):
        assert name in err
    assert not list(tmp_path.iterdir())


def test_missing_dot_is_a_clear_error(tmp_path: Path, capsys, monkeypatch) -> None:
    from archc.compiler.backends import graphviz

    pictures = load_script()
    monkeypatch.setattr(graphviz.shutil, "which", lambda name: None)
    assert pictures.main(["--only", "mobile_small", "--out", str(tmp_path)]) == 1
    assert "`dot` program is not installed" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
