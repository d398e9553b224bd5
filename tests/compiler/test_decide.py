"""Deciding and bounding over choices whose domains depend on other choices: only valid
configs count (a group count is never larger than the width it divides)."""

from __future__ import annotations

from archc.compiler.decide import combinations, decide, possible_values, upper_bound
from archc.kernel.span import NOWHERE
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import ChoiceRef, apply

W = ChoiceRef(name="w", type="int")
E = ChoiceRef(name="e", type="int")
G = ChoiceRef(name="g", type="int")


def _choices() -> dict[str, ChoiceSpec]:
    def spec(name, domain, default):
        return ChoiceSpec(name, "int", domain, "elastic", default, NOWHERE)

    return {
        "w": spec("w", (6, 8), 8),
        "e": spec("e", (1, 3), 3),
        "g": spec("g", apply("divisors", apply("mul", W, E)), 1),
    }


def test_combinations_enumerate_only_valid_configs_with_their_parents():
    configs = list(combinations(G, _choices()))
    assert {tuple(sorted(c)) for c in configs} == {("e", "g", "w")}
    assert all((c["w"] * c["e"]) % c["g"] == 0 for c in configs)
    assert len(configs) == 4 + 8 + 4 + 6  # divisors of 6, 18, 8, 24


def test_upper_bound_of_a_per_group_width_is_exact_over_valid_configs():
    per_group = apply("floordiv", apply("mul", W, E), G)
    assert upper_bound(per_group, _choices()) == (24, True)  # w = 8, e = 3, g = 1
    assert upper_bound(G, _choices()) == (24, True)


def test_decide_sees_that_a_divisor_never_exceeds_what_it_divides():
    # independent candidates would allow g = 24 with w * e = 6
    assert max(possible_values(_choices()["g"], _choices())) == 24
    assert decide(apply("le", G, apply("mul", W, E)), _choices()) is True
