"""Slicing, negative indices, unpacking, and named errors for what stays unsupported
(issue 17 item 2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archc.dsl.frontend import check_file


def net(body: str, kind: str = "net") -> str:
    return f"{kind} n {{\n    input image: [3, 16, 16]\n{body}\n    output o = image\n}}\n"


def messages(text: str) -> list[str]:
    return [d.message for d in check_file("mem.arch", text).diagnostics]


def value_of(expr: str):
    text = f"const V = {expr}\n" + net("")
    result = check_file("mem.arch", text)
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    from archc.dsl.loader import Loader
    from archc.dsl.modules import Modules

    loader = Loader()
    loader.load_root("mem.arch", text)
    return Modules(loader).globals_of("mem.arch").vars["V"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-5, 5), max_size=6),
    st.one_of(st.none(), st.integers(-8, 8)),
    st.one_of(st.none(), st.integers(-8, 8)),
    st.one_of(st.none(), st.integers(-3, 3).filter(bool)),
)
def test_slices_are_pythons(items, start, stop, step):
    bounds = ["" if b is None else str(b) for b in (start, stop)]
    text = f"{items}[{bounds[0]}:{bounds[1]}{'' if step is None else f':{step}'}]"
    assert value_of(text) == tuple(items[start:stop:step])


def test_negative_indices_count_from_the_end():
    assert value_of("[1, 2, 3][-1]") == 3
    assert value_of("[[1, 2], [3, 4]][-2][-1]") == 2


def test_a_slice_of_tensors_and_choices():
    body = (
        "    let xs = [image -> conv(w) for w in [8, 16, 24, 32]]\n"
        "    let ks = [choice(1, 3) as k[i] for i in range(3)]\n"
        "    output y = cat(xs[1:3]) -> conv(8, k=ks[-1])"
    )
    result = check_file("mem.arch", net(body, "space"))
    assert not result.diagnostics
    cat = next(n for n in result.spaces[0].nodes if n.op == "cat")
    assert len(cat.inputs) == 2


@pytest.mark.parametrize(
    "expr, message",
    [
        ("[1, 2][::0]", "slice step must not be 0"),
        ('"abc"[1:]', 'cannot slice str "abc"'),
        ("[1, 2][:1.5]", "slice bounds must be integers known at compile time, got float 1.5"),
    ],
)
def test_slice_mistakes(expr, message):
    assert messages(net(f"    let a = {expr}")) == [message]


def test_a_slice_bound_that_is_a_choice_names_repeat():
    result = check_file("mem.arch", net("    let a = [1, 2, 3][:choice(1, 2)]", "space"))
    (d,) = result.diagnostics
    assert d.message.startswith("slice bounds must be integers known at compile time, got int")
    assert "repeat(n)" in d.hint


@pytest.mark.parametrize(
    "statement, message, hint",
    [
        ("let a = (1, 2)", "tuples are not supported", "write a list: `[a, b]`"),
        (
            "let a += 1",
            "`+=` is not supported: bindings are immutable",
            "shadow the name instead: `let a = a + ...`",
        ),
        (
            'let d = {"a": 1}',
            "dictionaries (`{...}`) are not supported",
            "use lists, or two lists read together with `zip`",
        ),
        ("let f = lambda x: x", "`lambda` is not supported", "write a `block` and pass it by name"),
        (
            "let s = [x for (a, b) in [[1, 2]]]",
            "nested unpacking in a loop target is not supported",
            "unpack one level: `for a, b in pairs`",
        ),
        (
            'let a = f"x{1}"',
            "prefixed strings (f-strings) are not supported",
            "join strings with `+` and `str(x)`",
        ),
    ],
)
def test_unsupported_python_is_named(statement, message, hint):
    (d,) = check_file("mem.arch", net(f"    {statement}")).diagnostics
    assert (d.message, d.hint) == (message, hint)
