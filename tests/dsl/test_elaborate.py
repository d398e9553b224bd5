"""Elaboration semantics: names, sharing, guards, selects, dependent domains."""

from __future__ import annotations

import pytest

from archc.dsl.frontend import check_file
from archc.kernel.symbolic import ChoiceRef, evaluate


def elaborate(body: str, blocks: str = ""):
    text = f"{blocks}\nspace s {{\n    input image: [3, 64, 48]\n{body}\n}}\n"
    result = check_file("mem.arch", text)
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    return result.spaces[0]


def errors(body: str, blocks: str = "") -> list[str]:
    text = f"{blocks}\nspace s {{\n    input image: [3, 64, 48]\n{body}\n}}\n"
    return [d.message for d in check_file("mem.arch", text).diagnostics]


def names(space, kind="op"):
    return [n.name for n in space.nodes if n.kind == kind]


def test_nodes_are_named_by_callee_and_numbered_per_scope():
    s = elaborate("    output h = image -> conv(8) -> bn -> relu -> conv(4) -> bn")
    assert names(s) == ["conv", "bn", "relu", "conv_1", "bn_1"]


def test_scopes_labels_and_block_instances_prefix_names():
    blocks = "block unit(x: tensor, w: int) -> tensor { return x -> conv(w) -> bn }"
    s = elaborate(
        "    scope stem { let x = image -> unit(8) -> unit(8) as second }\n    output h = x", blocks
    )
    assert names(s) == ["stem.unit.conv", "stem.unit.bn", "stem.second.conv", "stem.second.bn"]


def test_let_bound_choice_is_one_decision_shared_by_all_uses():
    s = elaborate(
        "    scope s2 {\n        let k = choice(3, 5, 7)\n"
        "        let x = image -> conv(8, k=k) -> conv(8, k=k)\n    }\n"
        "    output h = x"
    )
    assert [c.name for c in s.choices] == ["s2.k"]
    ks = [n.attrs["k"] for n in s.nodes if n.op == "conv"]
    assert ks == [ChoiceRef("s2.k", "int")] * 2


def test_inline_choice_in_a_block_is_fresh_per_instance():
    blocks = "block unit(x: tensor) -> tensor { return x -> conv(8, k=choice(3, 5)) }"
    s = elaborate("    output h = image -> unit -> unit", blocks)
    assert [c.name for c in s.choices] == ["unit.conv.k", "unit_1.conv.k"]


def test_elastic_repeat_guards_optional_iterations_and_bypasses_them():
    s = elaborate(
        "    let d = choice(1..3)\n"
        "    output h = image -> conv(8) -> repeat(d) as b { i => conv(8) }"
    )
    convs = [n for n in s.nodes if n.op == "conv"]
    assert [n.name for n in convs] == ["conv", "b[0].conv", "b[1].conv", "b[2].conv"]
    assert convs[1].guard is True
    assert evaluate(convs[2].guard, {"d": 1}) is False
    assert evaluate(convs[3].guard, {"d": 3}) is True
    selects = [n for n in s.nodes if n.kind == "select"]
    assert len(selects) == 2  # one per optional iteration
    assert selects[0].inputs == (convs[2].id, convs[1].id)


def test_conditional_on_a_choice_makes_a_select_with_guarded_branches():
    s = elaborate(
        "    let att = choice(false, true)\n"
        "    output h = image -> conv(8) -> (relu if att else skip)"
    )
    relu, skip = (next(n for n in s.nodes if n.op == op) for op in ("relu", "skip"))
    assert evaluate(relu.guard, {"att": True}) and not evaluate(skip.guard, {"att": True})
    select = next(n for n in s.nodes if n.kind == "select")
    assert select.inputs == (relu.id, skip.id)


def test_concrete_conditions_elaborate_one_branch_only():
    s = elaborate("    let k = 3\n    output h = image -> (relu if k == 3 else skip)")
    assert names(s) == ["relu"]


def test_oneof_makes_a_choose_node_over_guarded_candidates():
    s = elaborate(
        "    output h = image -> oneof(c3: conv(8, k=3), c5: conv(8, k=5), realise=weighted) as op"
    )
    spec = s.choice("op")
    assert (spec.kind, spec.domain, spec.realise) == ("op", ("c3", "c5"), "weighted")
    choose = next(n for n in s.nodes if n.kind == "choose")
    assert choose.attrs["labels"] == ("c3", "c5")
    assert [s.nodes[i].name for i in choose.inputs] == ["op.c3.conv", "op.c5.conv"]


def test_shared_oneof_values_share_the_decision_but_not_the_weights():
    blocks = "block cell(x: tensor, ops: list[op]) -> tensor {\n    return x -> ops[0] -> ops[1]\n}"
    s = elaborate(
        "    let alpha = [oneof(c3: conv(8, k=3), skip) as e[i] for i in range(2)]\n"
        "    output h = image -> conv(8) -> cell(alpha) -> cell(alpha)",
        blocks,
    )
    assert [c.name for c in s.choices] == ["e[0]", "e[1]"]
    chooses = [n for n in s.nodes if n.kind == "choose"]
    assert [n.attrs["choice"] for n in chooses] == ["e[0]", "e[1]", "e[0]", "e[1]"]
    convs = {n.weight_name for n in s.nodes if n.op == "conv"}
    assert "cell.e[0].c3.conv" in convs and "cell_1.e[0].c3.conv" in convs


def test_shares_weights_keeps_decisions_apart():
    s = elaborate(
        "    let xs = image\n"
        "    scope f[0] { let a = image -> conv(8, k=choice(1, 3)) }\n"
        "    scope f[1] shares weights with f[0] {"
        " let b = image -> conv(8, k=choice(1, 3)) }\n"
        "    output h = a + b"
    )
    assert [c.name for c in s.choices] == ["f[0].conv.k", "f[1].conv.k"]
    convs = [n for n in s.nodes if n.op == "conv"]
    assert [n.name for n in convs] == ["f[0].conv", "f[1].conv"]
    assert [n.weight_name for n in convs] == ["f[0].conv", "f[0].conv"]


def test_dependent_domain_is_symbolic_and_evaluates_per_parent_value():
    s = elaborate(
        "    let e = choice(3, 6)\n"
        "    let g = choice([d for d in divisors(8 * e) if d >= 8])\n"
        "    output h = image -> conv(8 * e, groups=g)"
    )
    g = s.choice("g")
    assert g.dependent and g.default == 8
    assert evaluate(g.domain, {"e": 3}) == (8, 12, 24)
    assert evaluate(g.domain, {"e": 6}) == (8, 12, 16, 24, 48)


def test_dependent_domain_that_is_empty_for_a_parent_value_is_an_error():
    msgs = errors(
        "    let e = choice(1, 6)\n"
        "    let g = choice([d for d in divisors(8 * e) if d >= 16])\n"
        "    output h = image -> conv(8, groups=g)"
    )
    assert msgs == ["this choice has no candidates when `e` = 1"]


def test_choice_over_tensors_names_candidates_after_their_variables():
    s = elaborate(
        "    let f1 = image -> conv(8)\n    let f2 = image -> conv(8, k=3)\n"
        "    output h = choice(f1, f2) as stage"
    )
    spec = s.choice("stage")
    assert (spec.kind, spec.domain, spec.realise) == ("input", ("f1", "f2"), "sampled")


def test_constraints_are_normalised():
    s = elaborate(
        "    output h = image -> conv(8)\n    constraint macs <= 1.5G\n"
        "    constraint latency(cpu) < 20ms\n    constraint params <= 3M"
    )
    assert [(c.metric, c.device, c.op, c.bound) for c in s.constraints] == [
        ("macs", None, "<=", 1_500_000_000),
        ("latency", "cpu", "<", 20.0),
        ("params", None, "<=", 3_000_000),
    ]


def test_asserts_on_shapes_are_kept_for_the_compiler():
    s = elaborate(
        "    let w = choice(8, 12)\n    let x = image -> conv(w)\n"
        '    assert x.channels % 4 == 0, "w must be a multiple of 4"\n'
        "    output h = x"
    )
    assert len(s.checks) == 1 and s.checks[0].message == "w must be a multiple of 4"


def test_asserts_on_choices_are_checked_for_every_config():
    assert errors(
        "    let w = choice(8, 10, 12)\n    let e = choice(1, 2)\n"
        '    assert w * e % 4 == 0, "w must be a multiple of 4"\n'
        "    output h = image -> conv(w)"
    ) == ["assertion failed when `e` = 1, `w` = 10: w must be a multiple of 4"]
    s = elaborate(
        "    let w = choice(8, 12)\n    assert w % 4 == 0\n    output h = image -> conv(w)"
    )
    assert not s.checks  # always true: folded away


def test_a_net_rejects_choices():
    text = "net n {\n    input image: [3, 8, 8]\n    output h = image -> conv(choice(4, 8))\n}\n"
    [d] = check_file("mem.arch", text).diagnostics
    assert d.message == "`net n` is a fixed network, but this is a choice"


def test_independent_errors_are_all_reported_once():
    msgs = errors(
        "    let a = image -> conv(8, kk=3)\n    let b = image -> cnov(8)\n"
        '    output h = image -> conv("8")'
    )
    assert msgs == [
        "`conv` has no parameter `kk`",
        "unknown name `cnov`",
        'argument `out` of `conv` must be int, got str "8"',
    ]


@pytest.mark.parametrize(
    "expr, value",
    [
        ("2..4", (2, 3, 4)),
        ("16..64 step 16", (16, 32, 48, 64)),
        ("4..2 step -1", (4, 3, 2)),
        ("[i * 2 for i in range(3) if i != 1]", (0, 4)),
        ("700M", 700_000_000),
        ("max(3, 7) // 2", 3),
        ("divisors(12)", (1, 2, 3, 4, 6, 12)),
        ('"a" + "b"', "ab"),
        ("[x + y for x, y in zip([1, 2], [10, 20])]", (11, 22)),
        ("make_divisible(24 * 1.5)", 40),
    ],
)
def test_compile_time_values(expr, value):
    text = f"const V = {expr}\nnet n {{\n    input i: [3, 4, 4]\n    output o = i\n}}\n"
    from archc.dsl.loader import Loader
    from archc.dsl.modules import Modules

    loader = Loader()
    loader.load_root("mem.arch", text)
    modules = Modules(loader)
    assert modules.globals_of("mem.arch").lookup("V") == value
    assert not loader.diagnostics and not modules.diagnostics


def test_defaults_of_oneof_and_input_choices_name_candidates():
    s = elaborate(
        "    let a = image -> conv(8)\n    let b = image -> conv(8, k=3)\n"
        "    let c = choice(a, b, default=b)\n"
        "    output h = c -> oneof(c3: conv(8, k=3), skip, default=skip)"
    )
    assert [(c.name, c.default) for c in s.choices] == [("c", "b"), ("oneof", "skip")]


def test_conditions_decided_by_the_domains_are_folded():
    s = elaborate(
        "    let e = choice(3, 4, 6)\n"
        "    output h = image -> ((conv(8) -> relu) if e != 1 else skip)"
    )
    assert names(s) == ["conv", "relu"] and not names(s, "select")


def test_conditions_not_decided_by_the_domains_stay_symbolic():
    s = elaborate(
        "    let e = choice(1, 4)\n    output h = image -> ((conv(8) -> relu) if e != 1 else skip)"
    )
    assert names(s, "select") == ["select"]


def test_dependent_default_follows_the_parents_defaults():
    s = elaborate(
        "    let w = choice(9, 16, default=16)\n"
        "    let g = choice([d for d in divisors(w) if d > 1])\n"
        "    output h = image -> conv(w, groups=g)"
    )
    assert s.choice("g").default == 2
    assert errors(
        "    let w = choice(9, 16, default=16)\n"
        "    let g = choice(divisors(w), default=3)\n"
        "    output h = image -> conv(w, groups=g)"
    ) == ["default int 3 is not one of the candidates when the other choices take their defaults"]


@pytest.mark.parametrize(
    "body, message",
    [
        ("    output h = choice(image)", "a choice needs at least two candidates"),
        (
            "    scope f[1] shares weights with f[0] { let a = image -> conv(8) }\n"
            "    output h = a",
            "`shares weights with f[0]`: no scope `f[0]` was created before this one",
        ),
        (
            "    output h = image -> conv(8)\n    constraint macs in nowhere <= 3M",
            "no part of the network is in scope `nowhere`",
        ),
        (
            "    output h = image -> conv(8)\n    constraint macs != 3M",
            "a constraint is a bound: `!=` is not allowed",
        ),
    ],
)
def test_scope_and_constraint_mistakes(body, message):
    assert errors(body) == [message]


def test_ops_are_declared_only_in_the_prelude():
    msgs = errors("    output h = image -> conv(8)", 'op myconv(x: tensor) -> tensor { "mine" }')
    assert msgs == [
        "`op myconv` declares a primitive op, but primitive ops come only from the standard prelude"
    ]


def test_the_length_of_a_list_of_choices_is_known_at_compile_time():
    """`len` of a list whose items are choices is a number (range() accepts it); only a
    list that is itself chosen has a symbolic length."""
    blocks = """
block gated(x: tensor, on: list[bool]) -> tensor {
    "One conv per switch, each kept when its switch is on."
    return cat([(x -> conv(3) as c[i]) if on[i] else x for i in range(len(on))])
}
"""
    s = elaborate(
        """    let on = [choice(false, true) as b[i] for i in range(3)]
    output h = image -> gated(on)""",
        blocks,
    )
    assert [n for n in names(s) if ".c[" in n] == [f"gated.c[{i}]" for i in range(3)]
    assert "`len`" in " ".join(errors("    output h = image -> conv(len(3))"))
