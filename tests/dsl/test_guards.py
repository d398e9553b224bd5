"""Issue 21's language items: inputs the front end must refuse (or accept) with a
located, readable diagnostic instead of a wrong answer or an internal error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archc.api import compile_file
from archc.dsl.fmt import format_source
from archc.dsl.frontend import check_file
from archc.kernel.diagnostics import render


def net(body: str, blocks: str = "", kind: str = "net") -> str:
    return f"{blocks}\n{kind} n {{\n    input image: [3, 16, 16]\n{body}\n}}\n"


def messages(text: str) -> list[str]:
    return [d.message for d in check_file("mem.arch", text).diagnostics]


def rendered(text: str, path: str = "mem.arch") -> str:
    result = compile_file(path, text)
    return render(result.diagnostics, result.sources)


# ---- item 5: a pipe after an `else` branch


def test_pipe_after_else_is_refused_with_both_readings():
    text = net("    output o = image if true else image -> relu")
    assert rendered(text) == (
        "mem.arch:4:16: error[E009]: a pipe after the `else` branch of a conditional is ambiguous\n"
        "    4 |     output o = image if true else image -> relu\n"
        "      |                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "hint: write `(image if true else image) -> relu` to pipe the result of the "
        "conditional, or `image if true else (image -> relu)` to pipe the `else` branch only"
    )


@pytest.mark.parametrize(
    "expr", ["(image if true else image) -> relu", "image if true else (image -> relu)"]
)
def test_both_parenthesised_readings_are_accepted_and_kept_by_fmt(expr):
    text = net(f"    output o = {expr}")
    assert messages(text) == []
    assert f"output o = {expr}" in format_source(text)


# ---- item 6: integer arguments have their domain checked


@pytest.mark.parametrize(
    "stage, message",
    [
        ("conv(16, stride=0)", "argument `stride` of `conv` must be >= 1, got 0"),
        ("conv(-16)", "argument `out` of `conv` must be >= 1, got -16"),
        ("conv(0)", "argument `out` of `conv` must be >= 1, got 0"),
        ("conv(8, k=0)", "argument `k` of `conv` must be >= 1, got 0"),
        ("conv(8, k=-3)", "argument `k` of `conv` must be >= 1, got -3"),
        ("conv(8, padding=-2)", "argument `padding` of `conv` must be >= -1, got -2"),
        ("deconv(8, stride=0)", "argument `stride` of `deconv` must be >= 1, got 0"),
        ("maxpool(k=0)", "argument `k` of `maxpool` must be >= 1, got 0"),
        ("upsample(0)", "argument `factor` of `upsample` must be >= 1, got 0"),
        ("linear(0)", "argument `out` of `linear` must be >= 1, got 0"),
        ("squash(0)", "argument `dim` of `squash` must be >= 1, got 0"),
        ("scatter([0, -1], 17)", "argument `index` of `scatter` must be >= 0, got -1"),
    ],
)
def test_plain_values_outside_an_ops_domain_are_errors(stage, message):
    assert messages(net(f"    output o = image -> {stage}")) == [message]


def test_every_candidate_of_a_choice_is_checked():
    text = net("    let s = choice(1, 0)\n    output o = image -> conv(8, stride=s)", kind="space")
    assert messages(text) == ["argument `stride` of `conv` must be >= 1, but is 0 when `s` = 0"]
    text = net("    output o = image -> conv(8, k=choice(1, 3) as k - 1)", kind="space")
    assert messages(text) == ["argument `k` of `conv` must be >= 1, but is 0 when `k` = 1"]


def test_a_bound_that_needs_shapes_is_checked_by_lowering():
    text = net(
        "    let w = choice(4, 8)\n    let x = image -> conv(w)\n"
        "    output o = x -> conv(x.channels - 4)",
        kind="space",
    )
    assert messages(text) == []
    assert "argument `out` of `conv` must be >= 1 when `w` = 4" in rendered(text)


def test_blocks_may_bound_their_parameters():
    blocks = "block unit(x: tensor, w: int >= 8) -> tensor { return x -> conv(w) }"
    assert messages(net("    output o = image -> unit(4)", blocks)) == [
        "argument `w` of `unit` must be >= 8, got 4"
    ]
    assert messages(net("    output o = image -> unit(8)", blocks)) == []


def test_only_ints_take_a_bound():
    blocks = "block unit(x: tensor, w: float >= 1) -> tensor { return x }"
    assert messages(net("    output o = image -> unit(4.0)", blocks)) == [
        "only `int` takes a bound (`>= N`), not `float`"
    ]


@pytest.mark.parametrize("shape", ["[0, 16, 16]", "[3, -16, 16]", "[1, 3, 16, 16]"])
def test_an_input_shape_that_is_not_three_positive_ints_is_shown(shape):
    text = f"net n {{\n    input image: {shape}\n    output o = image\n}}\n"
    assert messages(text) == [
        f"input shape must be [channels, height, width] with positive integers, got {shape}"
    ]


def test_the_valid_edges_of_every_domain_pass():
    stages = "conv(1, k=1, stride=1, groups=1, dilation=1, padding=-1) -> conv(1, padding=0)"
    assert messages(net(f"    output o = image -> {stages}")) == []


# ---- item 7: two nets of one name; `none` labels a candidate


def test_two_nets_with_one_name_are_an_error():
    text = net("    output o = image") + net("    output o = image -> relu")
    assert messages(text) == ["`net n` is defined twice in this file"]


def test_a_net_with_the_name_of_a_space_says_both_kinds():
    text = net("    output o = image", kind="space") + net("    output o = image -> relu")
    assert messages(text) == ["`n` is defined twice in this file, as a space and as a net"]


def test_none_labels_a_oneof_candidate():
    text = net(
        '    output o = image -> oneof(none: zero, skip, default="none") as edge', kind="space"
    )
    space = check_file("mem.arch", text).spaces[0]
    assert space.choices[0].domain == ("none", "skip")
    assert space.choices[0].default == "none"
    assert "oneof(none: zero, skip" in format_source(text)


# ---- item 13: an import that reaches a file that is not an .arch file


def test_an_import_through_a_link_to_another_file_is_refused_unread(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("secret first line\n")
    os.symlink(tmp_path / "notes.txt", tmp_path / "lib.arch")
    Path("main.arch").write_text('import "lib.arch"\n' + net("    output o = image"))
    out = rendered(Path("main.arch").read_text())
    assert "`lib.arch` is not an .arch file: it is a link to `notes.txt`" in out
    assert "secret" not in out


def test_an_import_with_a_file_name_too_long_is_an_error(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("main.arch").write_text(f'import "{"a" * 300}.arch"\n' + net("    output o = image"))
    result = check_file("main.arch")
    assert [d.message for d in result.diagnostics] == [
        f"cannot read `{'a' * 60}...{'a' * 35}.arch`: its name is too long"
    ]


# ---- item 15: byte-order mark, control characters, huge numbers


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path):
    path = tmp_path / "bom.arch"
    path.write_bytes(b"\xef\xbb\xbf" + net("    output o = image").encode())
    assert check_file(path).diagnostics == []


def test_control_characters_are_escaped_in_messages_and_excerpts():
    text = net('    assert false, "red\x1b[31m"\n    output o = image  # \x07')
    out = rendered(text)
    assert "\x1b" not in out and "\x07" not in out
    assert "assertion failed: red\\x1b[31m" in out


def test_a_5000_digit_literal_gets_no_python_advice():
    out = rendered(net(f"    let a = {'9' * 5000}\n    output o = image"))
    assert out.startswith("mem.arch:4:13: error[E006]: this number has 5000 digits; a number")
    assert "sys." not in out and len(out) < 1000


def test_huge_values_are_not_echoed_in_full():
    out = messages(net("    output o = image -> activation(fn=10 ** 400)"))
    assert out == ["argument `fn` of `activation` must be str, got int 100000...0000 (401 digits)"]
    assert messages(net("    let a = str(10 ** 2000 * 10 ** 2000)\n    output o = image")) == [
        "`*` gives a number too large to compute here"
    ]
    assert messages(net("    output o = image -> conv(1e400)")) == ["this number is too large"]


def test_a_long_source_line_is_cut_around_the_caret():
    out = rendered(net(f"    let a = [{'1, ' * 200}cnov]\n    output o = image"))
    source, caret = out.split("\n")[1:3]
    assert len(source) < 200 and source.endswith("...") is False and "..." in source
    assert source[caret.index("^") : caret.index("^") + 4] == "cnov"


# ---- item 14: hostile sizes end quickly, with a clear error


def test_exponential_recursion_that_adds_no_nodes_ends_in_a_clear_error():
    blocks = (
        "block f(x: tensor, n: int) -> tensor {\n"
        "    return x if n == 0 else (x -> f(n - 1) -> f(n - 1))\n}"
    )
    out = messages(net("    output o = image -> f(30)", blocks))
    assert out == [
        "`n` takes more than 30,000 steps to elaborate (block instances and loop iterations)"
    ]


@pytest.mark.parametrize(
    "expr", ["1 if true else " * 30000 + "1", "-" * 30000 + "1", "[" * 30000 + "]" * 30000]
)
def test_expressions_nested_thousands_deep_say_so(expr):
    """Python's recursion limit may be reached in lark or in one of our transformer
    methods (there it once read `cannot read this number: maximum recursion depth`).
    30,000 deep: beyond the 20,000 that `archc` sets, whatever ran before in-process."""
    text = net(f"    let a = {expr}\n    output o = image")
    assert messages(text) == ["expressions are nested too deeply to read"]


def test_nested_loops_in_a_constant_end_in_a_clear_error():
    text = "const X = [[0 for j in range(100000)] for i in range(100000)]\n"
    assert messages(text + net("    output o = image")) == [
        "`const X` takes more than 30,000 steps to elaborate (block instances and loop iterations)"
    ]


def test_nested_repeats_fail_before_they_are_unrolled(monkeypatch):
    from archc.dsl import context

    made = []
    real = context.Context.add_node
    monkeypatch.setattr(
        context.Context, "add_node", lambda self, *a, **k: made.append(1) or real(self, *a, **k)
    )
    stages = "repeat(1000) { repeat(1000) { repeat(1000) { relu } } }"
    assert messages(net(f"    output o = image -> {stages}")) == [
        "`n` would have more than 100000 nodes (1000 iterations of 1000 nodes here); is a "
        "loop or repeat count much larger than intended?"
    ]
    assert len(made) < 3000  # today's limit was reached only after 100,000 nodes


def test_thousands_of_typos_show_fifty_errors_and_a_count(monkeypatch):
    from archc.dsl import expressions, resolve
    from archc.kernel import diagnostics

    calls = []
    real = diagnostics.suggest

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(resolve, "suggest", counted)
    monkeypatch.setattr(expressions, "suggest", counted)
    body = "".join(f"    let y{i} = image -> cnov{i}(8)\n" for i in range(2000))
    out = rendered(net(body + "    output o = image"))
    assert out.count(": error[E202]: unknown name") == 50
    assert out.endswith("note: 1950 more errors not shown (the first 50 are above)")
    assert len(calls) <= 100  # each did-you-mean scans every name: not one per typo


def test_a_file_with_old_mac_line_ends_is_read_line_by_line(tmp_path):
    """CR alone ended no line: a whole file read as its first line, a comment, and
    `check` said "ok, no space or net"."""
    source = "# header\n" + net("    output o = image -> conv(8)")
    path = tmp_path / "mac.arch"
    path.write_bytes(source.replace("\n", "\r").encode())
    result = check_file(path)
    assert result.ok and [space.name for space in result.spaces] == ["n"]
