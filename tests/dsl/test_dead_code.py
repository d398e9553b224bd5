"""Warnings for values that never reach an output (issue 17 item 2), and
`archc check --error-on-warning`."""

from __future__ import annotations

from pathlib import Path

import pytest

from archc.api import compile_file
from archc.cli.main import main
from archc.kernel.diagnostics import Severity, render

ROOT = Path(__file__).resolve().parents[2]
FORGOTTEN = """space s {
    input image: [3, 64, 48]
    input prev: [17, 16, 12]
    let x = image -> conv(16, k=3, stride=2)
    let extra = x -> conv(64)
    for t in 1..2 {
        let z = x -> conv(t)
    }
    output o = x -> conv(17)
}
"""


def warnings(text: str) -> str:
    result = compile_file("mem.arch", text)
    assert result.ok
    return render(result.diagnostics, result.sources)


def test_a_forgotten_layer_and_input_are_warned_about_located_and_named():
    assert warnings(FORGOTTEN) == (
        "mem.arch:3:5: warning[W002]: input `prev` never reaches an output\n"
        "    3 |     input prev: [17, 16, 12]\n"
        "      |     ^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "hint: it stays an input of the network that nothing reads: use it, or delete it\n"
        "mem.arch:5:5: warning[W001]: `extra` is computed but never reaches an output\n"
        "    5 |     let extra = x -> conv(64)\n"
        "      |     ^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "hint: it is left out of the network (and of its params and MACs): use it in an "
        "output, or delete it\n"
        "mem.arch:7:9: warning[W001]: `z` is computed but never reaches an output\n"
        "    7 |         let z = x -> conv(t)\n"
        "      |         ^^^^^^^^^^^^^^^^^^^^\n"
        "hint: it is left out of the network (and of its params and MACs): use it in an "
        "output, or delete it"
    )


def test_what_reaches_an_output_in_some_way_is_not_warned_about():
    text = """space s {
    input image: [3, 64, 48]
    let x = image -> conv(16)
    let y = x -> conv(16)
    let x = x + y
    let pair = [x -> conv(8), x -> conv(4)]
    let big = choice(false, true)
    let wide = x -> conv(8, k=3)
    for t in 1..2 {
        let h[t] = x -> conv(8, k=2 * t - 1)
    }
    output o = (wide if big else pair[0]) + h[1] -> conv(8)
    output p = h[2]
}
"""
    assert warnings(text) == ""


def test_values_a_block_leaves_unused_are_its_callers_design():
    text = """block two(x: tensor) -> list[tensor] {
    let unused_inside = x -> conv(4)
    return [x -> conv(8), x -> conv(16)]
}

net n {
    input image: [3, 64, 48]
    let xs = image -> two
    output o = xs[0]
}
"""
    assert warnings(text) == ""


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "examples").rglob("*.arch")) + sorted((ROOT / "grammars/std").glob("*.arch")),
    ids=lambda p: p.name,
)
def test_the_examples_and_the_library_have_no_warnings(path):
    result = compile_file(path)
    assert [d.message for d in result.diagnostics if d.severity is Severity.WARNING] == []


def test_check_exits_0_on_warnings_and_1_with_error_on_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("forgotten.arch").write_text(FORGOTTEN)
    assert main(["check", "forgotten.arch"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("ok  forgotten.arch")
    assert out.err.count(": warning[") == 3
    assert main(["check", "--error-on-warning", "forgotten.arch"]) == 1
    assert capsys.readouterr().err.count(": warning[") == 3


def test_a_value_passed_to_a_block_that_ignores_it_is_the_blocks_design():
    text = """block first(xs: list[tensor]) -> tensor {
    return xs[0] -> conv(8)
}

net n {
    input image: [3, 64, 48]
    let a = image -> conv(4)
    let b = image -> conv(4, k=3)
    output o = first([a, b])
}
"""
    assert warnings(text) == ""
