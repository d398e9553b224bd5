"""Every command checks the optional packages it needs before it starts and names the
extra that installs them: never an "internal error", never an epoch lost. A missing
package is simulated by `sys.modules[name] = None` (what a failed import looks like)."""

from __future__ import annotations

import sys

import pytest

from archc.cli import requires
from archc.cli.main import main

ARGS = {
    "train": ["train", "n.arch", "--data", "d", "--out", "r"],
    "eval": ["eval", "n.arch", "--weights", "w.safetensors", "--data", "d"],
    "supernet": ["supernet", "train", "s.arch", "--data", "d", "--out", "r"],
    "search": ["search", "s.arch", "--data", "d", "--out", "o", "--strategy", "darts"],
    "export": ["export", "n.arch", "-o", "m.onnx"],
    "latency": ["latency", "n.arch"],
    "lut": ["lut", "n.arch", "-o", "lut.json"],
    "data": ["data", "check", "d"],
    "lsp": ["lsp"],
}
PAIRS = [(command, name) for command, names in requires.NEEDS.items() for name in names]


def test_every_command_with_needs_is_exercised():
    assert set(ARGS) == set(requires.NEEDS)


@pytest.mark.parametrize(("command", "name"), PAIRS, ids=[f"{c}-{n}" for c, n in PAIRS])
def test_a_missing_package_is_named_before_the_command_starts(
    command, name, monkeypatch, tmp_path, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, name, None)
    assert main(ARGS[command]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"archc: archc {command} needs {name}: pip install 'archc[")
    assert f"[{requires.EXTRAS[name]}]" in err and "internal error" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_package_found_missing_later_gets_the_same_line(monkeypatch, capsys):
    def run(args):
        raise ModuleNotFoundError("No module named 'pymoo'", name="pymoo")

    from archc.cli import main as main_module

    parser = main_module.build_parser()
    parser._subparsers._group_actions[0].choices["info"].set_defaults(run=run)
    monkeypatch.setattr(main_module, "build_parser", lambda: parser)
    assert main(["info", "x.arch"]) == 1
    assert capsys.readouterr().err == "archc: archc info needs pymoo: pip install 'archc[search]'\n"


def test_an_unknown_missing_module_is_still_a_bug(monkeypatch, capsys):
    def run(args):
        raise ModuleNotFoundError("No module named 'archc.nope'", name="archc.nope")

    from archc.cli import main as main_module

    parser = main_module.build_parser()
    parser._subparsers._group_actions[0].choices["info"].set_defaults(run=run)
    monkeypatch.setattr(main_module, "build_parser", lambda: parser)
    assert main(["info", "x.arch"]) == 3
    assert "internal error" in capsys.readouterr().err
