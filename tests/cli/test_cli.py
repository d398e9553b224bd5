"""The command line: exit codes, help texts, and the no-traceback promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archc.cli import main as cli

OK = "net n {\n    input image: [3, 16, 16]\n    output h = image -> conv(8) -> relu\n}\n"
BAD = "net n {\n    input image: [3, 16, 16]\n    output h = image -> conv(8) -> rleu\n}\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ok.arch").write_text(OK)
    (tmp_path / "bad.arch").write_text(BAD)
    return tmp_path


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip().startswith("archc ")


@pytest.mark.parametrize("command", ["check", "fmt", "compile", "info", "sample", "viz"])
def test_every_subcommand_has_a_description(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert f"usage: archc {command}" in out and len(out.splitlines()) > 5


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "check" in capsys.readouterr().out


def test_check_ok_and_error_exit_codes(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert cli.main(["check", "ok.arch"]) == 0
    assert capsys.readouterr().out == "ok  ok.arch: net n (0 choices, 3 nodes)\n"
    assert cli.main(["check", "ok.arch", "bad.arch"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "bad.arch:3:36: error[E202]: unknown name `rleu`\n"
        "    3 |     output h = image -> conv(8) -> rleu\n"
        "      |                                    ^^^^\n"
        "hint: did you mean `relu`, `relu6`?\n"
        "1 of 2 files have errors\n"
    )


def test_check_missing_file_is_a_located_error_not_a_traceback(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert cli.main(["check", "nope.arch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nope.arch:1:1: error[E011]: no such file `nope.arch`")


def test_internal_errors_print_one_line_and_traceback_only_with_debug(files, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("archc.cli.check.compile_file", broken)
    assert cli.main(["check", str(files / "ok.arch")]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (RuntimeError: boom)" in err
    assert "Traceback" not in err
    assert cli.main(["--debug", "check", str(files / "ok.arch")]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_error_inside_a_block_points_at_the_block_and_the_call_site_once(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "b.arch").write_text(
        'block unit(x: tensor) -> tensor {\n    return x -> conv(8, k="3")\n}\n'
        "net n {\n    input image: [3, 16, 16]\n    output h = image -> unit -> unit\n}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "b.arch"]) == 1
    assert capsys.readouterr().err == (
        'b.arch:2:27: error[E229]: argument `k` of `conv` must be int, got str "3"\n'
        '    2 |     return x -> conv(8, k="3")\n'
        "      |                           ^^^\n"
        "b.arch:6:25: note: in the block instantiated here\n"
        "    6 |     output h = image -> unit -> unit\n"
        "      |                         ^^^^\n"
    )


def test_a_closed_pipe_is_not_an_internal_error():
    """`archc sample FILE --n 2000 | head -1`: the reader leaves early (after one of
    about 2 MB of lines); no error message."""
    space = Path(__file__).resolve().parents[2] / "examples/spaces/vipnas_mbv3.arch"
    proc = subprocess.Popen(
        [sys.executable, "-m", "archc.cli.main", "sample", str(space), "--n", "2000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141 and err == ""
