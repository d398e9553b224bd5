"""One rule for a bad command line (issue 21, item 15): exit 2, argparse's usage and one
error line naming the option, before anything is read or written: for every numeric
option of every command, whether argparse or a check after parsing finds it."""

from __future__ import annotations

import argparse

import pytest

from archc.cli.main import build_parser, main

# the arguments a command needs besides the option under test (never read: parsing fails)
REQUIRED = {
    ("compile",): ["n.arch", "-o", "out"],
    ("viz",): ["n.arch", "-o", "n.dot"],
    ("export",): ["n.arch", "-o", "m.onnx"],
    ("lut",): ["n.arch", "-o", "lut.json"],
    ("eval",): ["n.arch", "--weights", "w.safetensors", "--data", "d"],
    ("search",): ["s.arch", "--out", "o"],
    ("data", "synth"): ["out"],
    ("supernet", "train"): ["s.arch"],
}
POSITIONAL = ["n.arch"]  # the FILE of every other command that takes one


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, its parser) for every command and subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from commands(sub, (*path, name))


def typed_options():
    """(command path, option, bad value) for every option whose value is converted."""
    for path, parser in commands(build_parser()):
        for action in parser._actions:
            if action.type is None or not action.option_strings:
                continue
            for bad in getattr(action.type, "bad", ["?"]):
                yield path, action.option_strings[-1], action.type, bad


CASES = list(typed_options())


def argv(path: tuple[str, ...], option: str, value: str) -> list[str]:
    positional = [a.dest for a in dict(commands(build_parser()))[path]._actions]
    given = REQUIRED.get(path, POSITIONAL if "file" in positional else [])
    return [*path, *given, f"{option}={value}"]


def exit_code(args: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main(args)
    return stop.value.code, capsys.readouterr().err


def test_no_option_takes_a_bare_int_or_float():
    """A bare `type=int` accepts 0 and -1, a bare float also nan: every numeric option
    names its domain (archc/cli/values.py)."""
    bare = [(p, o) for p, o, t, _ in CASES if t in (int, float)]
    assert bare == []
    assert len({(p, o) for p, o, _, _ in CASES}) > 60  # every command's options are here


@pytest.mark.parametrize(
    ("path", "option", "value"),
    [(p, o, v) for p, o, _, v in CASES],
    ids=[f"{' '.join(p)} {o}={v}" for p, o, _, v in CASES],
)
def test_every_bad_numeric_value_is_a_bad_command_line(
    path, option, value, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    code, err = exit_code(argv(path, option, value), capsys)
    assert code == 2
    assert f"argument {option}" in err.splitlines()[-1]
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["train", "n.arch", "--data", "d", "--epochs", "0"],
        ["train", "n.arch", "--data", "d", "--batch", "0"],
        ["train", "n.arch", "--data", "d", "--lr", "nan"],
        ["export", "n.arch", "-o", "m.onnx", "--opset", "3"],
        ["export", "n.arch", "-o", "m.onnx", "--tolerance", "-1"],
        ["data", "synth", "out", "--size", "10x10"],
        ["data", "synth", "out", "--video", "1"],
        ["latency", "n.arch", "--runs", "0"],
        ["lut", "n.arch", "-o", "l.json", "--calibrate", "1"],
        ["sample", "n.arch", "--n", "0"],
        ["viz", "n.arch", "-o", "n.dot", "--depth", "0"],
        ["supernet", "train", "s.arch", "--random", "-1"],
        ["search", "s.arch", "--out", "o", "--held-out", "1.5"],
    ],
    ids=lambda args: " ".join(args),
)
def test_the_values_the_issue_found_exit_2(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, err = exit_code(args, capsys)
    assert code == 2 and err.splitlines()[-1].startswith(f"archc {args[0]}")


def test_a_long_bad_value_is_not_echoed_in_full(capsys):
    code, err = exit_code(["sample", "n.arch", "--n", "9" * 5000], capsys)
    assert code == 2 and len(err.splitlines()[-1]) < 200
    assert "sys." not in err and "5000 characters" in err
