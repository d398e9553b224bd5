"""`archc compile` and `archc viz`: files written, loadable IR, plain derived pictures."""

from __future__ import annotations

import shutil

import pytest

import archc
from archc.cli import main as cli

SPACE = """space m {
    input image: [3, 32, 32]
    let w = choice(8, 16)
    output h = image -> conv(w) -> oneof(a: conv(4), b: conv(4, k=3))
}
"""


@pytest.fixture
def space_file(tmp_path, monkeypatch):
    (tmp_path / "m.arch").write_text(SPACE)
    monkeypatch.chdir(tmp_path)
    return "m.arch"


def test_compile_writes_ir_and_pictures(space_file, tmp_path, capsys):
    assert cli.main(["compile", space_file, "-o", "out"]) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    expected = ["m.dot", "m.ir.json"] + (["m.svg"] if shutil.which("dot") else [])
    assert names == sorted(expected)
    loaded = archc.load_ir(tmp_path / "out" / "m.ir.json")
    original = archc.load(space_file)
    for seed in range(5):
        config = original.sample(seed)
        assert loaded.cost(config) == original.cost(config)


def test_compile_into_a_file_path_is_a_clear_error(space_file, tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert cli.main(["compile", space_file, "-o", "taken"]) == 1
    assert capsys.readouterr().err == "archc: taken exists and is not a directory\n"


def test_viz_of_a_derived_subnet_has_no_choices(space_file, tmp_path, capsys):
    assert cli.main(["viz", space_file, "--largest", "-o", "sub.dot"]) == 0
    dot = (tmp_path / "sub.dot").read_text()
    assert "dashed" not in dot and "s.w" not in dot
    assert cli.main(["viz", space_file, "-o", "space.dot"]) == 0
    assert "oneof" in (tmp_path / "space.dot").read_text()


def test_viz_without_the_dot_binary_explains_what_to_install(
    space_file, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert cli.main(["viz", space_file, "-o", "pic.svg"]) == 1
    assert "graphviz" in capsys.readouterr().err
    assert not (tmp_path / "pic.svg").exists()


def test_viz_rejects_a_bad_depth(space_file, capsys):
    with pytest.raises(SystemExit, match="2"):  # a bad command line
        cli.main(["viz", space_file, "--depth", "0", "-o", "x.dot"])
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == "archc viz: error: argument --depth: must be >= 1, got 0"
