"""One record per decision, and the rules for its values: type, domain, how to show them.

The front end hands over `ChoiceSpec`s whose domain is either a tuple of
candidates or a symbolic expression over earlier choices (`divisors(w * e)`:
a group count must divide the channel count that other choices set). A search
needs both forms behind one question, "which values may this choice take
given the others?", so a `Choice` keeps the expression (for evaluation) next
to a text description (for people) and the names of the choices it reads.

Evaluated domains are normalised: always a tuple, duplicates dropped (keeping
the first), because `choice(a, a + 1, 3)` gives `(3, 4, 3)` when `a` is 3, and
a config is a set of values, not of positions: counting or encoding the two
3s separately would count one network twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archc.compiler.space.config import ConfigError, show
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import (
    INFIX,
    Apply,
    ChoiceRef,
    Comprehension,
    deps_of,
    evaluate,
    is_symbolic,
)

MAX_SHOWN = 20  # candidates listed in a message before it says how many there are
KINDS = ("int", "float", "bool", "str", "op", "input")

# kind -> (Python types a value may have, how the expected type reads in a message)
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "int": ((int,), "an integer"),
    "float": ((int, float), "a number"),
    "bool": ((bool,), "true or false"),
    "str": ((str,), "a string"),
    "op": ((str,), "an op label (a string)"),
}


@dataclass(frozen=True)
class Choice:
    """One decision as the search sees it.

    `domain` is the tuple of candidates, or None when it depends on other
    choices (`parents`, in table order); ask `ChoiceTable.domain_of` for the
    candidates under a config. `description` always says what the domain is:
    `[3, 5, 7]`, or the expression it is computed from.
    """

    name: str
    kind: str
    domain: tuple[Any, ...] | None
    parents: tuple[str, ...]
    description: str
    realise: str
    default: Any
    expression: Any = field(repr=False, compare=False)  # the spec's domain: a tuple or a Sym

    @property
    def dependent(self) -> bool:
        return self.domain is None


def from_spec(spec: ChoiceSpec, order: Mapping[str, int]) -> Choice:
    """The record of `spec`; `order` maps the names of the earlier choices to positions.

    Raises ValueError when the spec reads a choice that is not an earlier one:
    a table is filled in order, so a parent must be decided first.
    """
    if spec.kind not in KINDS:
        raise ValueError(f"choice `{spec.name}` has unknown kind {spec.kind!r}")
    parents = sorted(deps_of(spec.domain), key=lambda n: order.get(n, len(order)))
    late = [p for p in parents if p not in order]
    if late:
        raise ValueError(
            f"the domain of `{spec.name}` depends on `{late[0]}`, which is not an earlier choice"
        )
    dependent = is_symbolic(spec.domain)
    domain = None if dependent else normalise(spec.domain)
    if domain == ():
        raise ValueError(f"choice `{spec.name}` has no candidates")
    return Choice(
        name=spec.name,
        kind=spec.kind,
        domain=domain,
        parents=tuple(parents),
        description=describe(spec.domain),
        realise=spec.realise,
        default=spec.default,
        expression=spec.domain,
    )


def normalise(values: Any) -> tuple[Any, ...]:
    """A domain as a tuple without repeated candidates, first occurrences kept."""
    items = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    return tuple(dict.fromkeys(items))


def evaluate_domain(choice: Choice, parents: Mapping[str, Any]) -> tuple[Any, ...]:
    """The candidates of a dependent `choice` when its parents have the given values."""
    try:
        values = normalise(evaluate(choice.expression, parents))
    except Exception as err:  # a user expression failing for these parent values
        raise ConfigError(
            f"the domain of `{choice.name}` cannot be computed when "
            f"{parent_values(choice, parents)}: {err}"
        ) from None
    if not values:
        raise ConfigError(
            f"`{choice.name}` has no candidates when {parent_values(choice, parents)}"
        )
    return values


def describe(domain: Any, nested: bool = False) -> str:
    """A domain as people write it: `[3, 5, 7]`, `divisors(s1.w * s1.e)`, a comprehension.

    A comprehension is printed in its own words with its free names bound to the
    choices they stand for: `[d for d in divisors(w * e) if d >= 8] where w = s1.w, ...`.
    `nested` puts parentheses around an operation that is an operand of another.
    """
    if isinstance(domain, tuple):
        return "[" + ", ".join(describe(v) for v in domain) + "]"
    if isinstance(domain, ChoiceRef):
        return domain.name
    if isinstance(domain, Comprehension):
        return _describe_comprehension(domain)
    if isinstance(domain, Apply):
        return _describe_apply(domain, nested)
    return str(domain) if is_symbolic(domain) else show(domain)


def _describe_apply(sym: Apply, nested: bool) -> str:
    args = sym.args
    if sym.fn in INFIX and len(args) == 2:
        text = f"{describe(args[0], True)} {INFIX[sym.fn]} {describe(args[1], True)}"
    elif sym.fn in ("neg", "not"):
        return ("-" if sym.fn == "neg" else "not ") + describe(args[0], True)
    elif sym.fn == "if":
        text = (
            f"{describe(args[1], True)} if {describe(args[0], True)} else {describe(args[2], True)}"
        )
    else:
        return f"{sym.fn}({', '.join(describe(a) for a in args)})"
    return f"({text})" if nested else text


def _describe_comprehension(domain: Comprehension) -> str:
    if domain.source is None:  # an expression the printer did not know: say what it reads
        return "an expression of " + ", ".join(f"`{d}`" for d in sorted(domain.deps()))
    bound = [f"{k} = {describe(v)}" for k, v in domain.where if is_symbolic(v)]
    return domain.source + (" where " + ", ".join(bound) if bound else "")


def candidates(domain: Sequence[Any]) -> str:
    """The candidates for a message, at most MAX_SHOWN of them."""
    shown = ", ".join(show(v) for v in domain[:MAX_SHOWN])
    return shown if len(domain) <= MAX_SHOWN else f"{shown}, ... ({len(domain)} in all)"


def parent_values(choice: Choice, config: Mapping[str, Any]) -> str:
    """`s1.w` = 18, `s1.e` = 2: the parent values a dependent domain was computed from."""
    return ", ".join(f"`{p}` = {show(config[p])}" for p in choice.parents if p in config)


def expected_type(choice: Choice) -> str:
    """What a value of `choice` must be, for a message."""
    if choice.kind == "input":
        return "an input label (" + " or ".join(_label_types(choice)[1]) + ")"
    return _TYPES[choice.kind][1]


def has_type(choice: Choice, value: Any) -> bool:
    """Whether `value` has a type `choice` takes; `true` is not an integer, 3.0 is not one."""
    if isinstance(value, bool) and choice.kind != "bool":
        return False
    if choice.kind == "input":
        return isinstance(value, _label_types(choice)[0])
    return isinstance(value, _TYPES[choice.kind][0])


def _label_types(choice: Choice) -> tuple[tuple[type, ...], list[str]]:
    """Input choices are labelled by tensor names, or by positions when names are missing."""
    labels = choice.domain or ()
    types = tuple(dict.fromkeys(type(v) for v in labels)) or (str,)
    words = {str: "a string", int: "an integer"}
    return types, [words.get(t, t.__name__) for t in types]


def assignment_key(choice: Choice, config: Mapping[str, Any]) -> tuple[Any, ...]:
    """A cache key for the parent values of `choice`; types kept apart (1, 1.0, true)."""
    return tuple((type(config[p]), config[p]) for p in choice.parents)
