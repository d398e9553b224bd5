"""One torch record per op: the compiler's op rules, the ONNX emitters and the torch
records cover the same ops; exactly the ops whose rules count parameters have an
elastic module; an unknown op fails loudly, with the nearest names, in the record
registry and in both torch builders (it once became a LayerNorm without a word)."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import archc  # noqa: E402
from archc.compiler.backends.onnx.builder import EMITTERS, _load_emitters  # noqa: E402
from archc.compiler.ops import all_ops, registry  # noqa: E402
from archc.compiler.ops.padding import same_padding  # noqa: E402
from archc.runtime.ops import record  # noqa: E402
from archc.runtime.ops.record import OpRecord, all_records, get  # noqa: E402
from archc.torch import build_module, build_supernet  # noqa: E402

TINY = """space tiny {
  input image: [3, 8, 8]
  output y = image -> conv(4, k=3) -> bn -> relu
}
"""


def test_the_op_rules_the_onnx_emitters_and_the_torch_records_cover_the_same_ops():
    _load_emitters()
    assert set(all_records()) == set(EMITTERS) == set(all_ops())


def test_exactly_the_ops_whose_rules_count_parameters_have_an_elastic_module():
    with_params = {name for name, rule in all_ops().items() if rule.params is not registry._zero}
    weighted = {name for name, rec in all_records().items() if rec.weighted}
    assert weighted == with_params
    for name in weighted:
        rec = get(name)
        assert rec.max_sizes is not None and rec.call is not None, name


def test_an_unknown_op_fails_with_the_nearest_names():
    with pytest.raises(KeyError, match=r"no torch record for op `cnov`\. did you mean `conv`"):
        get("cnov")
    with pytest.raises(KeyError, match=r"no torch record for op `mystery`"):
        get("mystery")


def _renamed(graph, old: str, new: str):
    """`graph` with every `old` op renamed `new` (an op the torch side does not know)."""
    out = graph.copy()
    for n in out.nodes:
        node = out.nodes[n]["ir"]
        if node.op == old:
            out.nodes[n]["ir"] = dataclasses.replace(node, op=new)
    return out


@pytest.mark.parametrize("op", ["conv", "relu"])  # with weights, and without
def test_building_a_graph_with_an_unknown_op_fails_instead_of_falling_back(op):
    graph = _renamed(archc.load("tiny.arch", TINY).graph, op, op + "x")
    message = rf"no torch record for op `{op}x`\. did you mean `{op}`"
    with pytest.raises(KeyError, match=message):
        build_module(graph)
    with pytest.raises(KeyError, match=message):
        build_supernet(graph).set_active({})


def test_an_op_is_registered_once_and_an_elastic_record_is_whole():
    with pytest.raises(ValueError, match="op `conv` has two torch records"):
        record.register(get("conv"))
    with pytest.raises(ValueError, match="needs elastic, max_sizes and call"):
        OpRecord("half", get("conv").plain, elastic=get("conv").elastic)
    with pytest.raises(ValueError, match="`relu` holds no weights"):
        get("relu").make_elastic(None)


def test_same_padding_is_one_rule_for_conv_and_pools():
    assert [same_padding(k) for k in (1, 3, 5, 7)] == [0, 1, 2, 3]
    assert same_padding(3, dilation=2) == 2
    assert same_padding(5, padding=0) == 0 and same_padding(3, 4, 2) == 4
