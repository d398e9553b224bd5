"""`Decider`: the questions of `archc.compiler.decide` over one fixed set of choices,
with what answering them tabulates kept.

Lowering a search space asks thousands of questions (is this guard decided? is
this requirement true for every config? what is the largest this dimension can
be?) over the same few choices. Answering one enumerates the valid configs of
the choices it reads; those configs depend only on which choices they are, so
they are enumerated once per set of names. Values are frozen, so an answer is
also kept per value object (held, so that its id cannot be reused): lowering
passes the same resolved guard object for every node of a block instance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from archc.compiler.enumeration import MAX_COMBINATIONS, assignments, closure, possible_values
from archc.kernel.specs import ChoiceSpec
from archc.kernel.symbolic import ChoiceRef, apply, deps_of, evaluate, is_symbolic

_REF_TYPES = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "op": "str",
    "input": "str",
}


class Decider:
    def __init__(self, choices: Mapping[str, ChoiceSpec]):
        self.choices = choices
        self._configs: dict[frozenset[str], tuple[dict, ...] | None] = {}
        self._values: dict[str, tuple] = {}
        self._answers: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._decided: dict[Any, Any] = {}

    # ---- tabulated once
    def configs(self, value: Any) -> tuple[dict, ...] | None:
        """What `enumeration.combinations(value, choices)` yields, as a tuple (callers
        must not change the dicts), or None."""
        deps = deps_of(value)
        if deps not in self._configs:
            self._configs[deps] = self._enumerate(deps)
        return self._configs[deps]

    def _enumerate(self, deps: frozenset[str]) -> tuple[dict, ...] | None:
        names = closure(sorted(deps), self.choices)
        if names is None:
            return None
        if math.prod(len(self.values(n)) for n in names) > MAX_COMBINATIONS:
            return None
        return tuple(assignments(names, self.choices, {}))

    def values(self, name: str) -> tuple:
        """`possible_values` of one choice."""
        if name not in self._values:
            self._values[name] = possible_values(self.choices[name], self.choices)
        return self._values[name]

    def _remembered(self, question: str, value: Any, answer: Callable[[Any], Any]) -> Any:
        key = (question, id(value))
        kept = self._answers.get(key)
        if kept is None:
            kept = self._answers[key] = (value, answer(value))
        return kept[1]

    # ---- the questions
    def decide(self, cond: Any) -> Any:
        """`cond` as a bool when the choices decide it, else unchanged."""
        if not is_symbolic(cond):
            return bool(cond)
        try:  # by value: lowering rebuilds equal guards for every block instance
            return self._decided[cond]
        except KeyError:
            answer = self._decided[cond] = self._decide(cond)
            return answer
        except TypeError:  # a value holding something unhashable
            return self._remembered("decide", cond, self._decide)

    def _decide(self, cond: Any) -> Any:
        configs = self.configs(cond)
        if configs is None:
            return cond
        first = None
        for config in configs:  # stop at the first config that disagrees
            holds = bool(evaluate(cond, config))
            if first is None:
                first = holds
            elif holds != first:
                return cond
        return cond if first is None else first

    def tabulate(self, cond: Any) -> Any:
        """See `archc.compiler.decide.tabulate`."""
        if not is_symbolic(cond):
            return bool(cond)
        configs = self.configs(cond)
        if configs is None:
            return cond
        names = sorted(deps_of(cond))
        holds = frozenset(tuple(c[n] for n in names) for c in configs if evaluate(cond, c))
        if not holds:
            return False
        choices = self.choices
        if len(holds) == math.prod(len(self.values(n)) for n in names) and not any(
            choices[n].dependent for n in names
        ):
            return True
        refs = tuple(ChoiceRef(n, _REF_TYPES.get(choices[n].kind, "any")) for n in names)
        return apply("in", refs, holds)

    def simplify(self, value: Any) -> Any:
        """`value` as a constant when every config of its choices gives the same result."""
        if not is_symbolic(value) or isinstance(value, tuple):
            return value
        return self._remembered("simplify", value, self._simplify)

    def _simplify(self, value: Any) -> Any:
        configs = self.configs(value)
        if configs is None:
            return value
        seen = set()
        for config in configs:
            seen.add(evaluate(value, config))
            if len(seen) > 1:
                return value
        return seen.pop() if seen else value

    def counterexample(self, cond: Any) -> dict | bool | None:
        """A config where `cond` is false; None when it always holds; False if undecidable."""
        if not is_symbolic(cond):
            return None if cond else {}
        configs = self.configs(cond)
        if configs is None:
            return False
        found = next((c for c in configs if not evaluate(cond, c)), None)
        return dict(found) if found is not None else None

    def upper_bound(self, value: Any) -> tuple[Any, bool]:
        """(max of `value` over configs, exact?); see `archc.compiler.decide.upper_bound`."""
        if not is_symbolic(value):
            return value, True
        return self._remembered("upper_bound", value, self._upper_bound)

    def _upper_bound(self, value: Any) -> tuple[Any, bool]:
        configs = self.configs(value)
        if configs is not None:
            return max(evaluate(value, c) for c in configs), True
        top = {n: max(self.values(n)) for n in value.deps()}
        return evaluate(value, top), False
