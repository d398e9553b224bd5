"""Golden tests of the formatter: messy input -> exact canonical output.

Every case also checks the two guarantees (same tree after re-parsing,
idempotence) so a golden string can never encode a layout that breaks them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from archc.dsl import ast
from archc.dsl.ast import same_tree
from archc.dsl.fmt import check_source, format_module, format_source
from archc.dsl.fmt_expr import quote
from archc.dsl.parser import parse
from archc.kernel.diagnostics import ArchError


def fmt(source: str) -> str:
    """Format, asserting the round-trip guarantees on the way."""
    out = format_source(source)
    assert same_tree(parse(out), parse(source))
    assert format_source(out) == out
    assert Counter(c.text for c in parse(out).comments) == Counter(
        c.text for c in parse(source).comments
    )
    return out


def test_messy_module_becomes_canonical():
    source = """\
import   std.mobile as m
import "lib/blocks.arch"
const W=8
const  H = 2*W+1
op conv ( x : Tensor, out:int , k: int=3, )->Tensor{"2-D convolution"}
block stem(x: Tensor, c: int = 16)->Tensor{ "the stem"
let y=x->conv(c,k=3)->bn()
return y }
net tiny{input x:[1,3,256,192]
output y=x->stem()}
"""
    assert (
        fmt(source)
        == """\
import std.mobile as m
import "lib/blocks.arch"

const W = 8
const H = 2 * W + 1

op conv(x: Tensor, out: int, k: int = 3) -> Tensor { "2-D convolution" }

block stem(x: Tensor, c: int = 16) -> Tensor {
    "the stem"
    let y = x -> conv(c, k=3) -> bn()
    return y
}

net tiny {
    input x: [1, 3, 256, 192]
    output y = x -> stem()
}
"""
    )


def test_every_expression_kind_with_minimal_parentheses():
    source = r"""space s {
let a = ((1 + 2)) * (3 - (4 - 5))
let b = -(-x) - (-y) + a ** -b ** c - (-a) ** 2 + (a ** b) ** c
let c = not (a and b) or (not c) and (d or e)
let d = (a < b) == (c in d)
let d2 = (-a..b) not in (e not in f)
let e = (x if c else y) if (p or q) else (z if r else w)
let f = x -> (a if c else b()) -> (g -> h) -> f() as l
let g = ((f() as l))[0] + (f() as l[1])[2] + (f() as l).x
let h = (1..10 step 2) in (a..(b..c))
let i = [(x) for x, y in (a if b else c) if (x > 0)]
let j = oneof(a: (conv(3)), b: bn() as q, (c -> d), realise = gumbel) as pick
let k = repeat(choice(1,2,3) as depth) as stage[1, i] {i=>a()->(b -> c)}
let l = [1, 2,] + [] + f(a, b=2,) - -(-3)
constraint macs in f[1] <= 700M
constraint latency(cpu) <= 30ms
scope s2 shares weights with f[1] { let z = 0.5e3 }
assert (x) , "bad \"x\"\n\ttab é \u0001"
return true if none else false
}
"""
    assert (
        fmt(source)
        == r"""space s {
    let a = (1 + 2) * (3 - (4 - 5))
    let b = - -x - -y + a ** -b ** c - (-a) ** 2 + (a ** b) ** c
    let c = not (a and b) or not c and (d or e)
    let d = (a < b) == (c in d)
    let d2 = -a..b not in (e not in f)
    let e = (x if c else y) if p or q else z if r else w
    let f = x -> (a if c else b()) -> (g -> h) -> f() as l
    let g = (f() as l)[0] + f() as l[1][2] + f() as l.x
    let h = 1..10 step 2 in a..(b..c)
    let i = [x for x, y in (a if b else c) if x > 0]
    let j = oneof(a: conv(3), b: bn() as q, (c -> d), realise=gumbel) as pick
    let k = repeat(choice(1, 2, 3) as depth) as stage[1, i] { i => a() -> (b -> c) }
    let l = [1, 2] + [] + f(a, b=2) - - -3
    constraint macs in f[1] <= 700M
    constraint latency(cpu) <= 30ms
    scope s2 shares weights with f[1] {
        let z = 0.5e3
    }
    assert x, "bad \"x\"\n\ttab é \u0001"
    return true if none else false
}
"""
    )


def test_long_lines_break():
    source = """\
op depthwise_separable_convolution(x: Tensor, out_channels: int, kernel: int = 3, stride: int = 1) -> Tensor { "doc" }
block encoder_stage(x: Tensor, channels: int, depth: int = 2, expand: int = 6, kernel: int = 3) -> Tensor {
    return x
}
space big {
    let y = x -> conv(32, k=3, stride=2) -> bn() -> relu() -> conv(64, k=3, stride=1) -> bn() -> relu()
    let z = some_function_with_a_long_name(first_argument, second_argument, third_argument, k=3, stride=2)
    let w = f(x -> conv(32, k=3, stride=2) -> bn() -> relu() -> conv(64, k=3, stride=1) -> bn(), other)
    let c = oneof(a: mbconv(expand=choice(3, 6) as e, kernel=choice(3, 5, 7) as k), b: fused_mbconv(expand=4), realise=gumbel) as cell
    let r = repeat(choice(1, 2, 3, 4) as depth) as stage { i => mbconv(expand=6, kernel=3, stride=2 if i == 0 else 1) -> se(ratio=0.25) }
    let l = [aaaaaaaaaaaa, bbbbbbbbbbbbbbbbbb, cccccccccccccccccccc, dddddddddddddddddddd, eeeeeeeeeeeeeeee]
    let q = [some_long_element_name * 2 for some_long_element_name in some_long_iterable_name if some_long_element_name > 0]
}
"""  # noqa: E501
    assert (
        fmt(source)
        == """\
op depthwise_separable_convolution(x: Tensor, out_channels: int, kernel: int = 3, stride: int = 1) -> Tensor { "doc" }

block encoder_stage(
    x: Tensor,
    channels: int,
    depth: int = 2,
    expand: int = 6,
    kernel: int = 3,
) -> Tensor {
    return x
}

space big {
    let y = x
        -> conv(32, k=3, stride=2)
        -> bn()
        -> relu()
        -> conv(64, k=3, stride=1)
        -> bn()
        -> relu()
    let z = some_function_with_a_long_name(
        first_argument,
        second_argument,
        third_argument,
        k=3,
        stride=2,
    )
    let w = f(
        x -> conv(32, k=3, stride=2) -> bn() -> relu() -> conv(64, k=3, stride=1) -> bn(),
        other,
    )
    let c = oneof(
        a: mbconv(expand=choice(3, 6) as e, kernel=choice(3, 5, 7) as k),
        b: fused_mbconv(expand=4),
        realise=gumbel,
    ) as cell
    let r = repeat(choice(1, 2, 3, 4) as depth) as stage {
        i => mbconv(expand=6, kernel=3, stride=2 if i == 0 else 1) -> se(ratio=0.25)
    }
    let l = [
        aaaaaaaaaaaa, bbbbbbbbbbbbbbbbbb, cccccccccccccccccccc, dddddddddddddddddddd,
        eeeeeeeeeeeeeeee,
    ]
    let q = [
        some_long_element_name * 2
        for some_long_element_name in some_long_iterable_name
        if some_long_element_name > 0
    ]
}
"""  # noqa: E501
    )


def test_long_conditionals_asserts_and_op_docs_break_at_their_seams():
    doc = "Transposed convolution that multiplies height and width by `stride` (see the paper)."
    source = f"""\
op deconv(x: tensor, out: int, k: int = 4) -> tensor {{ "{doc}" }}
block fuse(x: tensor, i: int, j: int) -> tensor {{
    assert len(edges) == cell_edges(n, nodes), "a cell needs one edge per (earlier node, hidden node) pair"
    return x if i == j else (x -> conv(out) -> bn -> upsample(2 ** (j - i))) if j > i else (x -> repeat(i - j - 1) as down {{ conv(x.channels, k=3, stride=2) -> bn -> relu }} -> conv(out, k=3, stride=2) -> bn)
}}
"""  # noqa: E501
    assert (
        fmt(source)
        == f"""\
op deconv(x: tensor, out: int, k: int = 4) -> tensor {{ "{doc}" }}

block fuse(x: tensor, i: int, j: int) -> tensor {{
    assert len(edges) == cell_edges(n, nodes),
        "a cell needs one edge per (earlier node, hidden node) pair"
    return x if i == j
        else (x -> conv(out) -> bn -> upsample(2 ** (j - i))) if j > i
        else (x
            -> repeat(i - j - 1) as down {{ conv(x.channels, k=3, stride=2) -> bn -> relu }}
            -> conv(out, k=3, stride=2)
            -> bn)
}}
"""
    )


@pytest.mark.parametrize("width", [99, 100, 101])
def test_a_line_breaks_exactly_past_100_columns(width):
    line = "    let v = x -> conv(32) -> b" + "a" * (width - 32) + "()"
    assert len(line) == width
    out = fmt("space s {\n" + line + "\n}\n")
    assert (line in out.splitlines()) == (width <= 100)
    assert max(len(x) for x in out.splitlines()) <= 100


def test_comment_placement():
    source = """\
# Copyright header.
# Second line.

import a  # why a
# about b
import b
const k = 1
# the block
block f(x: T) {  # header note
    "doc"
    let y = g(x,  # inside the call
              2)  # end of call
    # own line before z


    let z = y
    scope s {
        # only a comment
    }  # closing scope
    # last in body
}  # closing block
space e {}  # empty space
space e2 {
    # lonely
}
space e3 { let a = 1  # with the statement
}

# trailing 1
# trailing 2
"""
    assert (
        fmt(source)
        == """\
# Copyright header.
# Second line.

import a  # why a
# about b
import b

const k = 1

# the block
block f(x: T) {  # header note
    "doc"
    # end of call
    let y = g(x, 2)  # inside the call
    # own line before z

    let z = y
    scope s {
        # only a comment
    }  # closing scope
    # last in body
}  # closing block

space e {}  # empty space

space e2 {
    # lonely
}

space e3 {
    let a = 1  # with the statement
}

# trailing 1
# trailing 2
"""
    )


def test_comment_only_and_empty_files():
    assert fmt("") == ""
    assert fmt("\n\n  # just this   \n\n") == "# just this\n"


def test_numbers_keep_their_spelling():
    assert (
        fmt("const a = [700M, 30ms, 1.5e3, 007, 2us, 1s, 4K]")
        == "const a = [700M, 30ms, 1.5e3, 007, 2us, 1s, 4K]\n"
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain",
        'q"uote',
        "back\\slash",
        "new\nline\ttab\r",
        "\x00\x7f\x85\u2028\u2029",
        "é ü 😀",
        "\ud800",
        "# hash",
    ],
)
def test_strings_are_quoted_so_they_read_back(value):
    text = quote(value)
    assert text.startswith('"') and text.endswith('"') and "\n" not in text
    assert len(text.splitlines()) == 1
    module = parse(f"const a = {text}")
    assert module.items[0].value.value == value


def test_format_module_works_on_a_module_without_comments():
    module = parse("const a = 1  # gone\n")
    assert format_module(module.model_copy(update={"comments": ()})) == "const a = 1\n"


def test_check_source():
    assert check_source("const a = 1\n")
    assert not check_source("const a = 1")
    assert not check_source("const a=1\n")
    assert not check_source("const a = (1)\n")
    with pytest.raises(ArchError):
        check_source("const = 1\n")


def test_power_and_unary_minus_precedence_from_built_trees():
    """Built by hand, so these hold whatever the lexer does with `**`."""
    span = parse("const a = 1").span

    def name(n):
        return ast.Name(span=span, id=n)

    def pow_(a, b):
        return ast.BinOp(span=span, op="**", left=a, right=b)

    def neg(a):
        return ast.UnaryOp(span=span, op="-", operand=a)

    cases = {
        "a ** b ** c": pow_(name("a"), pow_(name("b"), name("c"))),
        "(a ** b) ** c": pow_(pow_(name("a"), name("b")), name("c")),
        "-a ** b": neg(pow_(name("a"), name("b"))),
        "(-a) ** -b": pow_(neg(name("a")), neg(name("b"))),
    }
    for text, tree in cases.items():
        const = ast.ConstDecl(span=span, name="q", value=tree)
        module = ast.Module(span=span, path="<t>", items=(const,))
        assert format_module(module) == f"const q = {text}\n"


def test_string_hash_is_not_printed_as_a_comment():
    """The parser's comment scanner may report a `#` after `\\"` inside a string."""
    assert fmt('const a = "x\\"#y"\n') == 'const a = "x\\"#y"\n'


def test_comment_after_an_escaped_quote_is_kept():
    assert fmt('const a = "\\""  # note\n') == 'const a = "\\""  # note\n'


def test_tables_stay_tables_and_plain_lists_fill_their_lines():
    """A list of rows keeps one row per line; a list of plain values that does not fit
    fills each line instead of taking one line per value."""
    rows = ", ".join(f"[{i}, 3, {16 * i}, 1, 1]" for i in range(1, 7))
    widths = ", ".join(str(8 * i) for i in range(1, 41))
    out = fmt(f"const BLOCKS = [{rows}]\nconst WIDTHS = [{widths}]\n")
    assert out.splitlines()[:8] == [
        "const BLOCKS = [",
        "    [1, 3, 16, 1, 1],",
        "    [2, 3, 32, 1, 1],",
        "    [3, 3, 48, 1, 1],",
        "    [4, 3, 64, 1, 1],",
        "    [5, 3, 80, 1, 1],",
        "    [6, 3, 96, 1, 1],",
        "]",
    ]
    filled = out.splitlines()[8:]
    assert filled[0] == "const WIDTHS = [" and filled[-1] == "]" and len(filled) == 4
    assert all(len(line) <= 100 and line.endswith(",") for line in filled[1:-1])


def test_a_repeat_after_a_name_keeps_its_call_on_one_line():
    body = "i => mbconv(width, k=k, expand=e, stride=stride if i == 0 else 1, groups=g, se=se)"
    out = fmt(
        f"block b(x: tensor) -> tensor {{\n    return x -> repeat(d) as blocks {{ {body} }}\n}}\n"
    )
    assert out.splitlines()[1:4] == [
        "    return x -> repeat(d) as blocks {",
        f"        {body}",
        "    }",
    ]


ROOT = Path(__file__).resolve().parents[2]
CANONICAL = sorted((ROOT / "examples").rglob("*.arch")) + sorted(
    (ROOT / "grammars").rglob("*.arch")
)


@pytest.mark.parametrize("path", CANONICAL, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_and_library_file_is_canonical(path):
    assert check_source(path.read_text(), str(path)), f"run `archc fmt --write {path}`"
