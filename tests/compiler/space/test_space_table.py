"""ChoiceTable: the records, domains, special configs, validation messages and vectors.

The `kinds` space (space_helpers.KINDS_SPACE) has every kind of choice and one
dependent domain: `g` in `divisors(w * e)`.
"""

from __future__ import annotations

import pytest

from archc.compiler.space import ChoiceTable, Config, ConfigError
from archc.kernel.span import NOWHERE
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import ChoiceRef, apply
from tests.compiler.space.space_helpers import elaborate, space_text, table_of

NAMES = ["w", "e", "g", "k", "r", "act", "on", "src", "head"]
DEFAULT = {
    "w": 8,
    "e": 1,
    "g": 1,
    "k": 3,
    "r": 0.25,
    "act": "relu",
    "on": False,
    "src": "image",
    "head": "relu",
}
HEAD = "invalid config for space `kinds`"


def spec(name: str, domain, kind: str = "int", default=None) -> ChoiceSpec:
    return ChoiceSpec(
        name=name, kind=kind, domain=domain, realise="elastic", default=default, span=NOWHERE
    )


def problem(table: ChoiceTable, config) -> str:
    with pytest.raises(ConfigError) as err:
        table.validate(config)
    return str(err.value)


# ---- records and domains


def test_records_follow_the_specs_in_order(kinds_table):
    assert kinds_table.names == tuple(NAMES) and len(kinds_table) == 9
    g = kinds_table["g"]
    assert (g.kind, g.domain, g.parents, g.description, g.dependent) == (
        "int",
        None,
        ("w", "e"),
        "divisors(w * e)",
        True,
    )
    head = kinds_table["head"]
    assert (head.kind, head.domain, head.realise, head.default) == (
        "op",
        ("relu", "skip", "c1"),
        "sampled",
        "relu",
    )
    assert kinds_table["act"].description == '["relu", "hswish"]'
    assert "g" in kinds_table and "x" not in kinds_table
    assert repr(kinds_table) == "ChoiceTable('kinds', 9 choices)"


def test_descriptions_of_dependent_domains():
    table = table_of(
        space_text(
            "    let a = choice(1..4)\n"
            "    let c = choice(a, a + 1, 3)\n"
            "    let d = choice([x for x in divisors(a * 6) if x > 1])\n"
            "    output h = image -> conv(8 * c, k=1) -> conv(8 * d, k=1)"
        )
    )
    assert [c.description for c in table] == [
        "[1, 2, 3, 4]",
        "[a, a + 1, 3]",
        "[x for x in divisors(a * 6) if x > 1] where a = a",
    ]


def test_domain_of_evaluates_dependent_domains_under_the_parents(kinds_table):
    assert kinds_table.domain_of("k") == (3, 5)
    assert kinds_table.domain_of("g", {"w": 16, "e": 3}) == (1, 2, 3, 4, 6, 8, 12, 16, 24, 48)
    assert kinds_table.domain_of("g", Config({"w": 8, "e": 1, "k": 5})) == (1, 2, 4, 8)


def test_domain_of_errors(kinds_table):
    with pytest.raises(ConfigError, match=r"^the domain of `g` depends on `e`, which is not set$"):
        kinds_table.domain_of("g", {"w": 8})
    with pytest.raises(KeyError) as err:
        kinds_table.domain_of("kk")
    assert err.value.args[0] == "no choice `kk` in space `kinds`; did you mean `k`?"


def test_dependent_domains_drop_repeated_candidates():
    table = table_of(
        space_text(
            "    let a = choice(2, 3)\n    let c = choice(a, a + 1, 3)\n"
            "    output h = image -> conv(8 * c, k=1)"
        )
    )
    assert table.domain_of("c", {"a": 3}) == (3, 4)
    assert table.domain_of("c", {"a": 2}) == (2, 3)


def test_a_domain_that_fails_for_some_parent_values_is_a_config_error():
    a = ChoiceRef("a", "int")
    table = ChoiceTable(
        [
            spec("a", (0, 1, 2), default=1),
            spec("b", (apply("floordiv", 12, a),), default=12),
            spec("c", apply("range", 2, a, 1), default=2),
        ]
    )
    with pytest.raises(ConfigError) as err:
        table.domain_of("b", {"a": 0})
    assert str(err.value) == (
        "the domain of `b` cannot be computed when `a` = 0: integer division or modulo by zero"
    )
    with pytest.raises(ConfigError, match=r"^`c` has no candidates when `a` = 1$"):
        table.domain_of("c", {"a": 1})
    assert (
        problem(table, {"a": 1, "b": 12, "c": 2})
        == "invalid config: `c` has no candidates when `a` = 1"
    )


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([spec("a", (1, 2)), spec("a", (3, 4))], "two choices are called `a`"),
        (
            [spec("g", apply("divisors", ChoiceRef("w", "int"))), spec("w", (8, 16))],
            "the domain of `g` depends on `w`, which is not an earlier choice",
        ),
        ([spec("a", (1, 2), kind="complex")], "choice `a` has unknown kind 'complex'"),
        ([spec("a", ())], "choice `a` has no candidates"),
    ],
)
def test_malformed_tables(specs, message):
    with pytest.raises(ValueError) as err:
        ChoiceTable(specs)
    assert str(err.value) == message


def test_an_empty_table_has_one_config():
    table = ChoiceTable([])
    assert table.size() == 1 and table.sample(0) == {} and table.encode({}) == []
    assert table.decode([]) == {}


# ---- special configs


def test_default_largest_smallest(kinds_table):
    assert kinds_table.default() == Config(DEFAULT, "kinds")
    assert kinds_table.per_choice_end("largest") == {
        "w": 16,
        "e": 3,
        "g": 48,
        "k": 5,
        "r": 0.5,
        "act": "hswish",
        "on": True,
        "src": "y",
        "head": "c1",
    }
    assert kinds_table.per_choice_end("smallest") == {**DEFAULT, "on": False}
    for cfg in (
        kinds_table.default(),
        kinds_table.per_choice_end("largest"),
        kinds_table.per_choice_end("smallest"),
    ):
        assert kinds_table.validate(cfg) == cfg and list(cfg) == NAMES


def test_largest_takes_the_maximum_not_the_last_candidate():
    table = table_of(space_text("    let w = choice(32, 8, 16)\n    output h = image -> conv(w)"))
    assert table.per_choice_end("largest") == {"w": 32} and table.per_choice_end("smallest") == {
        "w": 8
    }


# ---- validation


def test_validate_returns_the_config_in_table_order_with_the_space(kinds_table):
    cfg = kinds_table.validate(dict(reversed(DEFAULT.items())))
    assert list(cfg) == NAMES and cfg.space == "kinds"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kk": 3}, "unknown choice `kk`; did you mean `k`?"),
        ({"colour": 3}, "unknown choice `colour`"),
        ({"k": ...}, "missing choice `k` (candidates: 3, 5)"),
        ({"g": ...}, "missing choice `g` (candidates: 1, 2, 4, 8)"),
        ({"k": 4}, "`k` = 4 is not a candidate; candidates: 3, 5"),
        ({"r": 1}, "`r` = 1 is not a candidate; candidates: 0.25, 0.5"),
        ({"act": "gelu"}, '`act` = "gelu" is not a candidate; candidates: "relu", "hswish"'),
        (
            {"w": 16, "e": 3, "g": 5},
            "`g` = 5 is not a candidate when `w` = 16, `e` = 3; "
            "candidates: 1, 2, 3, 4, 6, 8, 12, 16, 24, 48",
        ),
        ({"k": "3"}, '`k` must be an integer, got "3"'),
        ({"k": 3.0}, "`k` must be an integer, got 3.0"),
        ({"k": True}, "`k` must be an integer, got true"),
        ({"r": "0.5"}, '`r` must be a number, got "0.5"'),
        ({"on": 1}, "`on` must be true or false, got 1"),
        ({"act": 3}, "`act` must be a string, got 3"),
        ({"head": True}, "`head` must be an op label (a string), got true"),
        ({"src": 0}, "`src` must be an input label (a string), got 0"),
    ],
)
def test_validate_messages(kinds_table, changes, message):
    cfg = {**DEFAULT, **changes}
    cfg = {k: v for k, v in cfg.items() if v is not ...}
    assert problem(kinds_table, cfg) == f"{HEAD}: {message}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"k" * 100_000: 3},
            "unknown choice `kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...` (100,000 characters)",
        ),
        (
            {"act": "y" * 100_000},
            '`act` = "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy..." (100,000 characters) is not a '
            'candidate; candidates: "relu", "hswish"',
        ),
        ({"k": 10**4000}, "`k` = 100000...0000 (4001 digits) is not a candidate; candidates: 3, 5"),
    ],
)
def test_validate_does_not_echo_huge_values_or_names(kinds_table, changes, message):
    assert problem(kinds_table, {**DEFAULT, **changes}) == f"{HEAD}: {message}"


def test_validate_lists_every_problem(kinds_table):
    cfg = {**DEFAULT, "kk": 3, "k": 4, "on": "yes", "w": 16, "e": 2, "g": 3}
    del cfg["act"]
    assert problem(kinds_table, cfg) == (
        f"{HEAD}:\n"
        "  unknown choice `kk`; did you mean `k`?\n"
        "  `g` = 3 is not a candidate when `w` = 16, `e` = 2; candidates: 1, 2, 4, 8, 16, 32\n"
        "  `k` = 4 is not a candidate; candidates: 3, 5\n"
        '  missing choice `act` (candidates: "relu", "hswish")\n'
        '  `on` must be true or false, got "yes"'
    )


def test_a_wrong_parent_leaves_only_the_childs_type_to_check(kinds_table):
    assert (
        problem(kinds_table, {**DEFAULT, "w": 9, "g": 5})
        == f"{HEAD}: `w` = 9 is not a candidate; candidates: 8, 16"
    )
    assert problem(kinds_table, {**DEFAULT, "w": 9, "g": "5"}) == (
        f"{HEAD}:\n  `w` = 9 is not a candidate; candidates: 8, 16\n"
        '  `g` must be an integer, got "5"'
    )
    assert problem(kinds_table, {k: v for k, v in DEFAULT.items() if k not in ("w", "g")}) == (
        f"{HEAD}:\n  missing choice `w` (candidates: 8, 16)\n  missing choice `g`"
    )


def test_a_config_for_another_space_is_rejected(kinds_table):
    assert (
        problem(kinds_table, Config(DEFAULT, "mobile_small"))
        == f"{HEAD}: the config is for space `mobile_small`, not `kinds`"
    )


def test_input_choices_labelled_by_position_take_integers():
    table = table_of(space_text("    output h = choice(image, image -> conv(8)) -> conv(8)"))
    assert table.validate({"choice": 1}) == {"choice": 1}
    assert (
        problem(table, {"choice": "image"})
        == 'invalid config for space `s`: `choice` must be an input label (an integer), got "image"'
    )


def test_long_domains_are_shortened_in_messages():
    table = table_of(space_text("    let c = choice(1..30)\n    output h = image -> conv(c)"))
    assert problem(table, {"c": 0}) == (
        "invalid config for space `s`: `c` = 0 is not a candidate; candidates: "
        + ", ".join(str(i) for i in range(1, 21))
        + ", ... (30 in all)"
    )


# ---- vectors


def test_encode_gives_domain_positions_under_the_parents(kinds_table):
    cfg = {**DEFAULT, "w": 16, "e": 3, "g": 12, "head": "c1", "src": "y", "on": True}
    assert kinds_table.encode(cfg) == [1, 2, 6, 0, 0, 0, 1, 1, 2]
    assert kinds_table.decode([1, 2, 6, 0, 0, 0, 1, 1, 2]) == Config(cfg, "kinds")
    assert kinds_table.cardinalities(cfg) == [2, 3, 10, 2, 2, 2, 2, 2, 3]
    assert kinds_table.cardinalities(DEFAULT) == [2, 3, 4, 2, 2, 2, 2, 2, 3]


def test_encode_rejects_invalid_configs(kinds_table):
    with pytest.raises(ConfigError, match="`k` = 4 is not a candidate"):
        kinds_table.encode({**DEFAULT, "k": 4})


def test_decode_rejects_out_of_range_and_non_integer_indices(kinds_table):
    with pytest.raises(ConfigError) as err:
        kinds_table.decode([0, 0, 4, 2, 0.5, True, 0, -1, 0])
    assert str(err.value) == (
        "cannot decode the vector:\n"
        "  position 2 (`g`): index 4 is out of range; the domain has 4 candidates when "
        "`w` = 8, `e` = 1\n"
        "  position 3 (`k`): index 2 is out of range; the domain has 2 candidates\n"
        "  position 4 (`r`): 0.5 is not an integer index\n"
        "  position 5 (`act`): True is not an integer index\n"
        "  position 7 (`src`): index -1 is out of range; the domain has 2 candidates"
    )


def test_decode_skips_children_of_a_bad_parent(kinds_table):
    with pytest.raises(ConfigError) as err:
        kinds_table.decode([5, 0, 99, 0, 0, 0, 0, 0, 0])
    assert err.value.problems == (
        "position 0 (`w`): index 5 is out of range; the domain has 2 candidates",
    )


def test_decode_checks_the_length(kinds_table):
    with pytest.raises(ConfigError, match=r"^expected 9 indices \(one per choice\), got 2$"):
        kinds_table.decode([0, 0])


def test_decode_with_clip_moves_indices_to_the_nearest_end(kinds_table):
    assert kinds_table.decode([99] * 9, clip=True) == kinds_table.per_choice_end("largest")
    assert kinds_table.decode([-5] * 9, clip=True) == kinds_table.per_choice_end("smallest")
    # `g` at index 9 exists for w * e = 48 but not for 8: clipped to the last divisor of 8
    assert kinds_table.decode([0, 0, 9, 0, 0, 0, 0, 0, 0], clip=True)["g"] == 8


def test_tables_of_elaborated_spaces_carry_the_space_name():
    space = elaborate(
        space_text("    let k = choice(1, 3)\n    output h = image -> conv(8, k=k)", name="tiny")
    )
    table = ChoiceTable.of(space)
    assert table.space == "tiny" and table.sample(0).space == "tiny"
    assert ChoiceTable(space.choices).sample(0).space is None
