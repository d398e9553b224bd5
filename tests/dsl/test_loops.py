"""Statement loops, indexed names and unpacking (issue 17 item 1, issue 14 item 1)."""

from __future__ import annotations

import pytest

from archc.api import compile_file
from archc.compiler.ir import facts
from archc.dsl.fmt import format_source
from archc.dsl.frontend import check_file
from archc.kernel.diagnostics import render

FRAMES = """const T = 3

block frame_net(x: tensor, prev: tensor) -> tensor {
    let w = choice(16, 24)
    return cat([x -> conv(w, k=3, stride=4), prev]) -> conv(17)
}

space temporal {
    for t in 1..T {
        input image[t]: [3, 64, 48]
    }
    input key: [17, 16, 12]
    let h = key
    for t in 1..T {
        scope f[t] shares weights with f[1] {
            let h = image[t] -> frame_net(h)
        }
        output heatmaps[t] = h
    }
}
"""


def elaborate(text: str, defines=()):
    result = check_file("mem.arch", text, defines)
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    return result.spaces[0]


def messages(text: str) -> list[str]:
    return [d.message for d in check_file("mem.arch", text).diagnostics]


def net(body: str) -> str:
    return f"net n {{\n    input image: [3, 16, 16]\n{body}\n}}\n"


def test_a_loop_generates_inputs_scopes_and_outputs():
    space = elaborate(FRAMES)
    assert [name for name, _ in space.inputs] == ["image[1]", "image[2]", "image[3]", "key"]
    assert [name for name, _ in space.outputs] == ["heatmaps[1]", "heatmaps[2]", "heatmaps[3]"]
    assert [c.name for c in space.choices] == [f"f[{t}].frame_net.w" for t in (1, 2, 3)]
    convs = [(n.name, n.weight_name) for n in space.nodes if n.op == "conv"]
    assert convs[2:4] == [
        ("f[2].frame_net.conv", "f[1].frame_net.conv"),
        ("f[2].frame_net.conv_1", "f[1].frame_net.conv_1"),
    ]


def test_bindings_in_a_loop_thread_through_the_iterations():
    """Frame t reads frame t-1's heatmaps: `let h` in the body outlives the iteration."""
    space = elaborate(FRAMES)
    nodes = {n.id: n for n in space.nodes}
    cats = [n for n in space.nodes if n.op == "cat"]
    assert nodes[cats[0].inputs[1]].name == "key"
    assert nodes[cats[1].inputs[1]].name == "f[1].frame_net.conv_1"
    assert nodes[cats[2].inputs[1]].name == "f[2].frame_net.conv_1"


@pytest.mark.parametrize("frames", [1, 2, 5])
def test_a_define_changes_the_number_of_frames(frames):
    result = compile_file("mem.arch", FRAMES, {"T": frames})
    assert result.ok
    assert list(facts(result.graphs[0]).outputs) == [f"heatmaps[{t}]" for t in range(1, frames + 1)]


def test_indexed_lets_form_a_family():
    body = (
        "    let h[0] = image\n"
        "    for t in 1..3 {\n        let h[t] = h[t - 1] -> conv(8)\n    }\n"
        "    output o = h[3]"
    )
    space = elaborate(net(body))
    assert [n.name for n in space.nodes if n.op == "conv"] == ["conv", "conv_1", "conv_2"]


def test_unpacking_in_let_and_loops():
    body = (
        "    let a, b = [image -> conv(8), image -> conv(4)]\n"
        "    for i, w in enumerate([8, 16]) {\n        let a = a -> conv(w) as c[i]\n    }\n"
        "    output o = cat([a, b])"
    )
    space = elaborate(net(body))
    assert [n.name for n in space.nodes if n.op == "conv"] == ["conv", "conv_1", "c[0]", "c[1]"]


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "    for t in [1, 2] {\n        let t = 3\n    }\n    output o = image",
            "`t` is the loop variable here and cannot be bound again",
        ),
        (
            "    let n = 2\n    for t in n {\n    }\n    output o = image",
            "a `for` statement loops over a list known at compile time, not int 2",
        ),
        (
            "    let h[1] = image\n    output o = h[2]",
            "`h` has no member [2]",
        ),
        (
            "    let h = image\n    let h[1] = image\n    output o = image",
            "`h` is tensor, not a family of indexed values",
        ),
        (
            "    let a, b = [1, 2, 3]\n    output o = image",
            "cannot unpack list of 3 into 2 names",
        ),
        (
            "    for t in 1..2 {\n        output o = image\n    }",
            "output `o` is defined twice",
        ),
    ],
)
def test_loop_mistakes(body, message):
    assert messages(net(body)) == [message]


def test_a_loop_over_a_choice_names_repeat():
    text = net("    for t in range(choice(1, 2)) {\n    }\n    output o = image").replace(
        "net n", "space n"
    )
    result = check_file("mem.arch", text)
    assert [d.message for d in result.diagnostics] == [
        "`range` needs values known at compile time, not choices; for a number of layers "
        "that is a choice use `repeat(n)`"
    ]


def test_a_huge_loop_fails_before_it_is_unrolled():
    body = "    for i in range(100000) {\n        let x = image -> conv(8) -> conv(8)\n    }"
    assert messages(net(body + "\n    output o = image")) == [
        "`n` would have more than 100000 nodes (100000 iterations of 2 nodes here); is a loop "
        "or repeat count much larger than intended?"
    ]


def test_the_formatter_keeps_loops_and_indexed_names():
    assert format_source(FRAMES) == FRAMES


def test_errors_in_a_loop_body_are_located():
    body = "    for t in 1..2 {\n        let y = image -> cnov(t)\n    }\n    output o = image"
    result = compile_file("mem.arch", net(body))
    assert render(result.diagnostics, result.sources).startswith(
        "mem.arch:4:26: error[E202]: unknown name `cnov`"
    )
