"""Saving and loading the IR: exact round trips, and located errors for bad files.

`==` is too lenient to prove a round trip (`1 == 1.0 == True`, and `Apply._deps` is
excluded from it), so graphs are compared with `identical` and by their JSON text.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math
import os
import stat
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archc import __version__
from archc.api import compile_file
from archc.compiler.ir import IRNode, SpaceFacts, facts
from archc.compiler.serialize import (
    SYM_TYPES,
    IRFormatError,
    ir_from_json,
    ir_to_json,
    load_ir,
    save_ir,
)
from archc.dsl.values import Tensor
from archc.kernel.span import Span
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import (
    FUNCTIONS,
    Apply,
    ChoiceRef,
    Comprehension,
    Var,
    comprehension,
    deps_of,
    evaluate,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("**/*.arch"))
SPAN = Span(file="t.arch", line=1, column=2, end_line=3, end_column=4)


def identical(a, b) -> bool:
    """Equal with the same types all the way down, dataclass fields hidden from == included."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(identical, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(identical(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(identical(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def round_trip(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Through JSON text, as a file would: tuples become lists, dict order is kept."""
    return ir_from_json(json.loads(json.dumps(ir_to_json(graph))))


def text(graph: nx.MultiDiGraph) -> str:
    return json.dumps(ir_to_json(graph), sort_keys=True)


def graphs_of(path: Path) -> list[nx.MultiDiGraph]:
    result = compile_file(path)
    assert result.ok and result.graphs
    return result.graphs


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_round_trips_exactly(path):
    for graph in graphs_of(path):
        back = round_trip(graph)
        assert list(back.nodes) == list(graph.nodes)
        for n in graph.nodes:
            assert back.nodes[n]["ir"] == graph.nodes[n]["ir"]
            assert identical(back.nodes[n]["ir"], graph.nodes[n]["ir"])
        assert list(back.edges(keys=True, data=True)) == list(graph.edges(keys=True, data=True))
        assert identical(back.graph, graph.graph)
        assert text(back) == text(graph)


def test_save_and_load_give_back_the_graph(tmp_path):
    [graph] = graphs_of(ROOT / "examples/spaces/mobile_small.arch")
    path = tmp_path / "ir.json"
    save_ir(graph, path)
    save_ir(graph, path)  # replacing an existing file
    data = json.loads(path.read_text())
    assert (data["format"], data["version"], data["archc"]) == ("archc-ir", 2, __version__)
    assert text(load_ir(path)) == text(graph)
    assert os.listdir(tmp_path) == ["ir.json"]  # no temporary file left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


COMPREHENSIONS = """
space comprehensions {
    input image: [3, 32, 32]
    let e = choice(1, 2, 4)
    let w = choice(8, 16)
    let g = choice([a * b for a in divisors(8 * e) if a > 1 for b in [1, 2] if a * b <= w])
    let n = choice([[k, k + 1][1] for k in 1..e])
    let m = choice([i + j for i, j in [[e, 1], [2, w]]])
    let x = image -> conv(w * g, k=3) -> conv(n * 2) -> conv(m)
    output y = x -> conv(len([d for d in divisors(w) if d > e]))
}
"""


def test_a_space_with_comprehensions_over_choices_round_trips_to_the_same_space(tmp_path):
    from archc.compiler.space.space import Space

    source = tmp_path / "c.arch"
    source.write_text(COMPREHENSIONS)
    [graph] = graphs_of(source)
    decoded = round_trip(graph)
    assert any(isinstance(c.domain, Comprehension) for c in facts(decoded).choices)
    space, back = Space(graph), Space(decoded)
    assert [c.description for c in back.table] == [c.description for c in space.table]
    assert back.size() == space.size() > 1
    for seed in range(60):
        config = space.sample(seed)
        assert back.sample(seed) == config
        assert back.cost(config) == space.cost(config)
        for choice in space.table:
            assert back.table.domain_of(choice.name, config) == space.table.domain_of(
                choice.name, config
            )


def test_a_decoded_dependent_domain_evaluates_like_the_original():
    [graph] = graphs_of(ROOT / "examples/spaces/mobile_small.arch")
    choices = {c.name: c for c in facts(graph).choices}
    decoded = {c.name: c for c in facts(round_trip(graph)).choices}
    dependent = [c for c in choices.values() if c.dependent]
    assert dependent
    for choice in dependent:
        domain = decoded[choice.name].domain
        assert isinstance(domain, Comprehension)
        assert domain.deps() == choice.domain.deps() and len(domain.deps()) == 2
        names = sorted(choice.domain.deps())
        for values in itertools.product(*(choices[n].domain for n in names)):
            config = dict(zip(names, values, strict=True))
            assert evaluate(domain, config) == evaluate(choice.domain, config) != ()


def one_node_graph(value) -> nx.MultiDiGraph:
    """A graph holding `value` in every position a value can take."""
    graph = nx.MultiDiGraph()
    graph.add_node(
        0,
        ir=IRNode(
            id=0,
            kind="input",
            op=None,
            name="x",
            weight_name="x",
            attrs={"v": value, "odd key": value},
            guard=value,
            shape=(value, 1, 2),
            max_shape=(3, 4, 5),
            span=SPAN,
            trace=(SPAN, SPAN),
        ),
    )
    graph.graph["facts"] = SpaceFacts(
        name="s",
        is_net=False,
        doc=None,
        choices=(ChoiceSpec("c", "int", value, "elastic", value, SPAN),),
        inputs={"x": 0},
        outputs={"y": 0},
        constraints=(),
        checks=((value, "message", SPAN),),
    )
    return graph


def _apply(fn: str, args: list, type_: str) -> Apply:
    """An `Apply` as `symbolic.apply` would build it, but never folded."""
    return Apply(fn=fn, args=tuple(args), type=type_, _deps=deps_of(tuple(args)))


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.builds(ChoiceRef, st.text("abc.", min_size=1, max_size=4), st.sampled_from(SYM_TYPES)),
    st.builds(Var, st.sampled_from("xyz"), st.sampled_from(SYM_TYPES)),
)


def _comprehension(names: list, iterable, items, source, where) -> Comprehension:
    return comprehension(tuple(names), iterable, items, source, tuple(where))


values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(tuple),
        st.builds(
            _apply,
            st.sampled_from(sorted(FUNCTIONS)),
            st.lists(inner, max_size=3),
            st.sampled_from(SYM_TYPES),
        ),
        st.builds(
            _comprehension,
            st.lists(st.builds(Var, st.sampled_from("xyz")), min_size=1, max_size=2),
            inner,
            inner,
            st.none() | st.text(max_size=8),
            st.lists(st.tuples(st.text("ab", min_size=1, max_size=2), inner), max_size=2),
        ),
    ),
    max_leaves=24,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_symbolic_values_round_trip_with_their_types(value):
    graph = one_node_graph(value)
    back = round_trip(graph)
    assert identical(back.nodes[0]["ir"], graph.nodes[0]["ir"])
    assert identical(back.graph, graph.graph)
    assert text(back) == text(graph)


@pytest.mark.parametrize(
    "value",
    [
        _apply("add", [ChoiceRef("a", "int"), 0], "int"),  # `apply` would fold it to `a`
        _apply("if", [True, 1.0, 1], "any"),  # all concrete: `apply` would compute it
        (True, 1, 1.0, -0.0, math.inf, -math.inf, "1", None, ()),
    ],
)
def test_decoding_never_folds_or_converts(value):
    back = round_trip(one_node_graph(value)).nodes[0]["ir"]
    assert identical(back.guard, value)
    assert identical(back.attrs["odd key"], value)


def test_values_are_tagged_in_the_json():
    ref = ChoiceRef("w", "int")
    data = ir_to_json(one_node_graph((1.5, True, _apply("mul", [ref, 4], "int"))))
    assert data["nodes"][0]["guard"] == [
        {"float": 1.5},
        True,
        {
            "sym": "apply",
            "fn": "mul",
            "args": [{"sym": "choice", "name": "w", "type": "int"}, 4],
            "type": "int",
        },
    ]
    assert data["nodes"][0]["span"] == ["t.arch", 1, 2, 3, 4]


def test_a_value_without_a_json_form_is_refused_with_its_place():
    with pytest.raises(
        TypeError,
        match=r"cannot serialise Tensor <tensor %3> at "
        r"\$\.nodes\[0\]\.attrs\.v\[1\]",
    ):
        ir_to_json(one_node_graph((1, Tensor(3))))


def test_saving_a_bad_graph_keeps_the_old_file(tmp_path):
    path = tmp_path / "ir.json"
    path.write_text("old")
    with pytest.raises(TypeError):
        save_ir(one_node_graph(Tensor(3)), path)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["ir.json"]


# ---------------------------------------------------------------- bad files


@pytest.fixture(scope="module")
def doc() -> dict:
    [graph] = graphs_of(ROOT / "examples/spaces/mobile_small.arch")
    return ir_to_json(graph)


def load_text(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(IRFormatError) as info:
        load_ir(path)
    assert isinstance(info.value, ValueError)
    return str(info.value).removeprefix(f"{path}: ")


def test_a_missing_file(tmp_path):
    with pytest.raises(IRFormatError) as info:
        load_ir(tmp_path / "nope.json")
    assert str(info.value) == f"{tmp_path / 'nope.json'}: no such file"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "not JSON (1:1): Expecting value"),
        (
            '{"format": "archc-ir",\n  "version": 1,,}',
            "not JSON (2:16): Expecting property name enclosed in double quotes",
        ),
        (b'{"format": "\xff"}', "not JSON (byte 12 is not UTF-8)"),
        ("[1, 2]", "not an archc IR document: the top level is a list, expected an object"),
        ("{}", 'not an archc IR document (no "format" field, expected "archc-ir")'),
        ('{"format": "onnx"}', 'not an archc IR document (format is "onnx", expected "archc-ir")'),
        (
            '{"format": "archc-ir", "version": "1"}',
            'malformed IR at $.version: expected a positive integer, got "1"',
        ),
        (
            '{"format": "archc-ir", "version": 3, "archc": "9.0"}',
            f"IR format version 3 is newer than archc {__version__} reads (2): "
            "written by a newer archc; upgrade",
        ),
        (
            '{"format": "archc-ir", "version": 1, "archc": "0.1.0"}',
            f"IR format version 1 is older than archc {__version__} reads (2): compile the "
            ".arch file again with this archc (`archc compile FILE -o DIR`, or `Space.save_ir`)",
        ),
    ],
    ids=itertools.count(),
)
def test_a_file_that_is_not_an_ir(tmp_path, content, message):
    assert load_text(tmp_path, content) == message


def _set(path: str, value):
    """A mutation of the document: put `value` at `path` (dot and index segments)."""

    def mutate(doc: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split("/")]
        target = doc
        for p in parents:
            target = target[p]
        if value is KeyError:
            del target[last]
        elif isinstance(target, list) and last == len(target):
            target.append(value)
        else:
            target[last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (_set("nodes/3/guard", KeyError), 'malformed IR at $.nodes[3]: missing field "guard"'),
        (_set("nodes/0/colour", 1), 'malformed IR at $.nodes[0]: unexpected field "colour"'),
        (_set("name", 3), "malformed IR at $.name: expected a string, got an integer"),
        (
            _set("nodes/2/guard", 1.5),
            'malformed IR at $.nodes[2].guard: an untagged float; floats are written {"float": x}',
        ),
        (
            _set("nodes/2/attrs/odd key", {"float": "1.5"}),
            'malformed IR at $.nodes[2].attrs["odd key"].float: expected a number, '
            '"inf", "-inf" or "nan", got "1.5"',
        ),
        (
            _set("nodes/2/guard", {"colour": 1}),
            'malformed IR at $.nodes[2].guard: an object value needs a "float", "builtin" or "sym" '
            "tag",
        ),
        (
            _set("nodes/2/guard", {"sym": "lambda"}),
            'malformed IR at $.nodes[2].guard.sym: unknown symbolic kind "lambda"',
        ),
        (
            _set(
                "nodes/2/guard",
                {
                    "sym": "apply",
                    "fn": "not",
                    "type": "bool",
                    "args": [{"sym": "apply", "fn": "exp", "type": "float", "args": []}],
                },
            ),
            'malformed IR at $.nodes[2].guard.args[0].fn: unknown function "exp"',
        ),
        (
            _set("nodes/2/guard", {"sym": "choice", "name": "a", "type": "tensor"}),
            'malformed IR at $.nodes[2].guard.type: unknown type "tensor"',
        ),
        (
            _set("nodes/2/guard", {"sym": "choice", "name": "a"}),
            'malformed IR at $.nodes[2].guard: missing field "type"',
        ),
        (
            _set("nodes/2/guard", {"builtin": "eval"}),
            'malformed IR at $.nodes[2].guard.builtin: unknown builtin function "eval"',
        ),
        (
            _set("nodes/2/shape", 7),
            "malformed IR at $.nodes[2].shape: expected a list, got an integer",
        ),
        (
            _set("nodes/0/span", ["f", 1, 2]),
            "malformed IR at $.nodes[0].span: expected a span "
            "[file, line, column, end_line, end_column]",
        ),
        (_set("nodes/5/id", 0), "malformed IR at $.nodes[5].id: node id 0 appears twice"),
        (_set("edges/0", [0, 999, 0]), "malformed IR at $.edges[0]: node 999 is not in $.nodes"),
        (
            _set("edges/1", [0, 1]),
            "malformed IR at $.edges[1]: expected [source id, target id, port]",
        ),
        (
            _set("outputs/heatmaps", 999),
            "malformed IR at $.outputs.heatmaps: expected a node id in $.nodes, got 999",
        ),
        (
            _set("constraints/0/bound", "300M"),
            "malformed IR at $.constraints[0].bound: expected a number, got a string",
        ),
        (_set("checks", {}), "malformed IR at $.checks: expected a list, got an object"),
        (
            _set("choices/4/domain/where/1", ["e"]),  # s1.g: a dependent domain
            "malformed IR at $.choices[4].domain.where[1]: expected a [name, value] pair",
        ),
        (
            _set("choices/4/domain/names/0", {"sym": "choice", "name": "d", "type": "int"}),
            'malformed IR at $.choices[4].domain.names[0]: expected a loop variable {"sym": '
            '"var", ...}',
        ),
        (
            _set("choices/4/domain/names", []),
            "malformed IR at $.choices[4].domain.names: a comprehension needs at least one "
            "loop variable",
        ),
        (
            _set("choices/4/domain/expr", {}),
            'malformed IR at $.choices[4].domain: unexpected field "expr"',
        ),
    ],
    ids=itertools.count(),
)
def test_malformed_content_names_the_json_path(tmp_path, doc, mutation, message):
    bad = copy.deepcopy(doc)
    mutation(bad)
    assert load_text(tmp_path, json.dumps(bad)) == message


def test_decoding_a_document_without_a_file_names_no_file(doc):
    with pytest.raises(
        IRFormatError,
        match=r"^malformed IR at \$\.is_net: expected a boolean, "
        r"got null$",
    ):
        ir_from_json({**doc, "is_net": None})
