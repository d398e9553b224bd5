"""Lowering: shapes resolved, decided selects folded, located shape errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from archc.api import compile_file
from archc.compiler.ir import facts, nodes_in_order
from archc.compiler.passes.verify import verify
from archc.kernel.diagnostics import render

EXAMPLES = sorted(Path(__file__).resolve().parents[2].glob("examples/**/*.arch"))


def compiled(body: str, blocks: str = ""):
    text = f"import std\n{blocks}\nspace s {{\n    input image: [3, 64, 48]\n{body}\n}}\n"
    return compile_file("mem.arch", text)


def messages(body: str, blocks: str = "") -> list[str]:
    return [d.message for d in compiled(body, blocks).diagnostics]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_lowers_and_verifies(path):
    result = compile_file(path)
    assert result.ok, render(result.diagnostics, result.sources)
    for graph in result.graphs:
        verify(graph)


def test_a_fixed_net_lowers_to_a_plain_graph():
    result = compile_file(Path(__file__).resolve().parents[2] / "examples/nets/tiny.arch")
    [graph] = result.graphs
    kinds = {n.kind for n in nodes_in_order(graph)}
    assert kinds <= {"input", "op"}
    assert all(n.guard is True for n in nodes_in_order(graph))
    assert all(isinstance(d, int) for n in nodes_in_order(graph) for d in n.shape)


def test_residual_shortcut_is_resolved_by_shapes():
    [graph] = compiled(
        "    output h = image -> conv(16) -> basic_block(16) -> basic_block(32, stride=2)"
    ).graphs
    names = [n.name for n in nodes_in_order(graph)]
    assert not any(n.startswith("basic_block.shortcut.") for n in names)
    assert any(n.startswith("basic_block_1.shortcut.") for n in names)


def test_add_of_mismatched_channels_names_both_shapes():
    result = compiled(
        "    let a = image -> conv(8)\n    let b = image -> conv(4)\n    output h = a + b"
    )
    [d] = result.diagnostics
    assert d.message == "channels differ: 8 and 4"
    assert [n.message for n in d.notes] == [
        "input [8, 64, 48] comes from `conv`",
        "input [4, 64, 48] comes from `conv_1`",
    ]


def test_mismatch_for_some_config_names_the_config():
    assert messages(
        "    let w = choice(8, 16)\n    let a = image -> conv(w)\n"
        "    output h = a + (image -> conv(8))"
    ) == ["channels differ: w and 8 when `w` = 16"]


def test_a_skippable_block_that_changes_the_shape_is_an_error():
    assert messages(
        "    let d = choice(1, 2)\n"
        "    output h = image -> repeat(d) as b { i => conv(8 * (i + 1)) }"
    ) == [
        "block `b[1]` is skipped when the depth is smaller, but it changes the shape from "
        "[8, 64, 48] to [16, 64, 48]; iterations after the minimum depth must keep the shape "
        "when `d` = 2"
    ]


def test_groups_must_divide_channels():
    assert messages("    output h = image -> conv(10, groups=4)") == [
        "groups (4) must divide the input channels (3)"
    ]


def test_cost_of_a_fixed_net_matches_a_hand_count():
    from archc.compiler.cost.count import count_cost

    [graph] = compiled(
        "    output h = image -> conv(16, k=3, stride=2) -> bn -> relu"
        " -> deconv(8) -> conv(17, bias=true)"
    ).graphs
    conv1 = 16 * 3 * 9
    deconv = 16 * 8 * 16
    head = 17 * 8 + 17
    assert count_cost(graph, {}).params == conv1 + 2 * 16 + deconv + head
    macs = conv1 * 32 * 24 + deconv * 32 * 24 + 17 * 8 * 64 * 48
    assert count_cost(graph, {}).macs == macs
    assert count_cost(graph, {}, "hrnet").macs == macs + 3 * deconv * 32 * 24


def test_cost_follows_the_config_through_choices_and_depth():
    from archc.compiler.cost.count import count_cost

    [graph] = compiled(
        "    let d = choice(1..3)\n    let w = choice(8, 16)\n"
        "    output h = image -> conv(w) -> repeat(d) as b { i => conv(w) }"
        " -> oneof(c: conv(4), p: conv(4, k=3))"
    ).graphs

    def conv(cin, cout, k=1):
        return cout * cin * k * k

    for d in (1, 2, 3):
        for w in (8, 16):
            for op, k in (("c", 1), ("p", 3)):
                cost = count_cost(graph, {"d": d, "w": w, "oneof": op})
                assert cost.params == conv(3, w) + d * conv(w, w) + conv(w, 4, k)
                assert cost.macs == cost.params * 64 * 48


def test_shapes_per_config_follow_the_choices():
    from archc.compiler.ir import max_shapes, shapes_under

    [graph] = compiled(
        "    let w = choice(8, 16)\n    let s = choice(1, 2)\n"
        "    output h = image -> conv(w, k=3, stride=s)"
    ).graphs
    out = facts(graph).outputs["h"]
    assert shapes_under(graph, {"w": 8, "s": 2})[out] == (8, 32, 24)
    assert shapes_under(graph, {"w": 16, "s": 1})[out] == (16, 64, 48)
    assert max_shapes(graph)[out] == (16, 64, 48)


def test_a_shape_assert_in_a_block_points_at_the_call_that_broke_it():
    block = (
        "block quarter(x: tensor) -> tensor {\n"
        '    assert x.channels % 4 == 0, "channels must be a multiple of 4"\n'
        "    return x -> conv(x.channels // 4)\n"
        "}\n"
    )
    result = compiled("    output h = image -> conv(6) -> quarter", block)
    [d] = result.diagnostics
    assert d.code == "E264"
    assert d.message == "assertion failed: channels must be a multiple of 4"
    assert d.span.line == 3  # the assert, in the block
    [note] = d.notes
    assert note.message == "in the block instantiated here"
    assert note.span.line == 9  # the call, in the space
