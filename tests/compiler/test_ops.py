"""Op rules against hand-computed numbers, and the prelude kept in step with the registry."""

from __future__ import annotations

import pytest

from archc.compiler.ops import Rules, all_ops, get
from archc.dsl import ast
from archc.dsl.parser import parse
from archc.grammars import STD_DIR
from archc.kernel.symbolic import ChoiceRef, evaluate

CONV = {"k": 3, "stride": 1, "groups": 1, "dilation": 1, "padding": -1, "bias": False}


def prelude_ops() -> dict[str, ast.OpDecl]:
    module = parse((STD_DIR / "prelude.arch").read_text(), "prelude.arch")
    return {i.name: i for i in module.items if isinstance(i, ast.OpDecl)}


def test_prelude_declares_exactly_the_registered_ops():
    assert set(prelude_ops()) == set(all_ops())


def _ints(t: ast.TypeRef) -> list[ast.TypeRef]:
    """The `int` types inside a parameter type (`list[int >= 0]` holds one)."""
    return [t] if t.name == "int" else [i for a in t.args for i in _ints(a)]


@pytest.mark.parametrize("name", sorted(prelude_ops()))
def test_every_integer_argument_of_every_op_declares_its_domain(name):
    """The prelude is the one place an op argument's domain is stated (`stride: int >= 1`);
    the front end checks every value and candidate against it. A new op's integer
    argument without a bound could reach a shape rule as 0 or -3 (issue 21, item 6)."""
    unbounded = [
        p.name for p in prelude_ops()[name].params if any(t.minimum is None for t in _ints(p.type))
    ]
    assert unbounded == []


@pytest.mark.parametrize("name", sorted(prelude_ops()))
def test_every_rule_reads_only_declared_attributes(name):
    decl = prelude_ops()[name]
    attrs = {
        p.name: _default(p)
        for p in decl.params
        if p.type.name not in ("tensor", "list")
        or (p.type.args and p.type.args[0].name != "tensor")
    }
    tensors = [
        p
        for p in decl.params
        if p.type.name == "tensor" or (p.type.name == "list" and p.type.args[0].name == "tensor")
    ]
    shapes = [(8, 16, 16)] * max(len(tensors), 2 if name in ("add", "mul", "cat") else 1)
    if name == "attention_pool":
        shapes = [(8, 16, 16), (1, 16, 16)]
    if name == "scatter":
        attrs.update(index=tuple(range(8)), channels=17)
    rule = get(name)
    rules = Rules(attrs, shapes)
    out = rule.shape(rules)
    rule.params(rules, out)
    rule.macs(rules, out)
    assert all(r.cond is True for r in rules.requirements)


def _default(p: ast.Param):
    if p.default is None:
        return {"out": 4, "channels": 8, "index": (0,)}.get(p.name, 1)
    d = p.default
    if isinstance(d, ast.UnaryOp):
        return -d.operand.value
    return d.value


@pytest.mark.parametrize(
    "attrs, shape, params, macs",
    [
        (
            {"out": 64, **CONV, "k": 7, "stride": 2},
            (64, 128, 96),
            64 * 3 * 49,
            64 * 3 * 49 * 128 * 96,
        ),
        ({"out": 32, **CONV, "groups": 32}, (32, 64, 48), 32 * 9, 32 * 9 * 64 * 48),
        ({"out": 17, **CONV, "k": 1, "bias": True}, (17, 64, 48), 17 * 32 + 17, 17 * 32 * 64 * 48),
    ],
)
def test_conv(attrs, shape, params, macs):
    inputs = [
        (
            3 if attrs["k"] == 7 else 32,
            256 if attrs["k"] == 7 else 64,
            192 if attrs["k"] == 7 else 48,
        )
    ]
    rules = Rules(attrs, inputs)
    out = get("conv").shape(rules)
    assert (out, get("conv").params(rules, out), get("conv").macs(rules, out)) == (
        shape,
        params,
        macs,
    )


def test_deconv_true_and_hrnet_macs():
    rules = Rules({"out": 256, "k": 4, "stride": 2, "groups": 1, "bias": False}, [(2048, 8, 6)])
    rule = get("deconv")
    out = rule.shape(rules)
    assert out == (256, 16, 12)
    assert rule.params(rules, out) == 2048 * 256 * 16
    assert rule.macs(rules, out) == 2048 * 256 * 16 * 8 * 6
    assert rule.macs_for("hrnet")(rules, out) == 4 * rule.macs(rules, out)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_deconv_doubles_the_size_for_every_kernel(k):
    rules = Rules({"out": 8, "k": k, "stride": 2, "groups": 1, "bias": False}, [(8, 8, 6)])
    assert get("deconv").shape(rules) == (8, 16, 12)


def test_rules_are_symbolic_in_choices():
    w = ChoiceRef("w", "int")
    rules = Rules({"out": w * 4, **CONV}, [(w, 32, 24)])
    out = get("conv").shape(rules)
    params = get("conv").params(rules, out)
    assert out[1:] == (32, 24)
    assert evaluate(params, {"w": 16}) == 64 * 16 * 9


def test_requirements_report_mismatched_channels():
    rules = Rules({}, [(8, 16, 16), (4, 16, 16)])
    get("add").shape(rules)
    assert [(r.cond, r.message) for r in rules.requirements] == [
        (False, "channels differ: 8 and 4")
    ]


def test_batchnorm_and_layernorm_params():
    bn = Rules({"affine": True}, [(64, 8, 8)])
    assert get("bn").params(bn, (64, 8, 8)) == 128
    assert get("bn").params(Rules({"affine": False}, [(64, 8, 8)]), (64, 8, 8)) == 0
    assert get("layernorm").params(Rules({}, [(16, 1, 1)]), (16, 1, 1)) == 32
