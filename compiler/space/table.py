"""The choice table: every decision of a space, and the operations a search needs on them.

A search algorithm only ever talks to this table: it samples or builds configs,
checks user-written ones, counts the space and turns configs into integer
vectors and back (evolution, RL controllers, surrogate models). Nothing here
knows about the graph or torch, so a search can run in a process that never
builds a network.

Every operation that builds a config visits the choices in table order and
asks for each one's domain under the values chosen so far. The front end puts
a dependent choice after the choices its domain reads, so its domain is always
known when it is reached, and every config built this way is valid.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from archc.compiler.space import domains as dom
from archc.compiler.space.config import Config, ConfigError, joined, show, shown_name
from archc.compiler.space.counting import count_configs
from archc.compiler.space.domains import Choice
from archc.compiler.space.variation import crossover, mutate
from archc.kernel.diagnostics import suggest
from archc.kernel.specs import ChoiceSpec

Rng = int | random.Random | None
Pick = Callable[[Choice, tuple[Any, ...]], Any]


def make_rng(seed: Rng) -> random.Random:
    """A `random.Random` from a seed, or the generator itself (so callers can share one)."""
    if isinstance(seed, random.Random):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"a seed is an int or a random.Random, got {seed!r}")
    return random.Random(seed)


class ChoiceTable:
    """The ordered choices of one space, with sampling, checking, counting and encoding."""

    def __init__(self, specs: Iterable[ChoiceSpec], space: str | None = None) -> None:
        order: dict[str, int] = {}
        choices = []
        for spec in specs:
            if spec.name in order:
                raise ValueError(f"two choices are called `{spec.name}`")
            choices.append(dom.from_spec(spec, order))
            order[spec.name] = len(order)
        self.choices: tuple[Choice, ...] = tuple(choices)
        self.space = space
        self._by_name = {c.name: c for c in choices}
        self._domains: dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]] = {}
        self._size: int | None = None

    @classmethod
    def of(cls, space: Any) -> ChoiceTable:
        """The table of an elaborated space (`archc.dsl.program.Elaborated`, or anything
        with `choices` and `name`), named after it."""
        return cls(space.choices, space.name)

    # ---- lookup

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def __len__(self) -> int:
        return len(self.choices)

    def __iter__(self) -> Iterator[Choice]:
        return iter(self.choices)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Choice:
        try:
            return self._by_name[name]
        except KeyError:
            hint = suggest(name, self._by_name)
            where = f" `{self.space}`" if self.space else ""
            raise KeyError(
                f"no choice `{name}` in space{where}" + (f"; {hint}" if hint else "")
            ) from None

    def __repr__(self) -> str:
        return f"ChoiceTable({self.space!r}, {len(self)} choices)"

    def domain_of(self, name: str, config: Mapping[str, Any] | None = None) -> tuple[Any, ...]:
        """The candidates of `name` when the choices its domain reads have `config`'s values.

        Only the parents need to be set; a choice that reads nothing ignores `config`.
        """
        return self._domain(self[name], config or {})

    def _domain(self, choice: Choice, config: Mapping[str, Any]) -> tuple[Any, ...]:
        if choice.domain is not None:
            return choice.domain
        missing = [p for p in choice.parents if p not in config]
        if missing:
            raise ConfigError(
                f"the domain of `{choice.name}` depends on `{missing[0]}`, which is not set"
            )
        key = (choice.name, dom.assignment_key(choice, config))
        if key not in self._domains:
            self._domains[key] = dom.evaluate_domain(choice, config)
        return self._domains[key]

    # ---- checking

    def validate(self, config: Mapping[str, Any]) -> Config:
        """`config` as a `Config` in table order; `ConfigError` lists every problem found.

        A dependent choice is checked against the domain its parents give; when a
        parent is itself wrong, only the child's type is checked (its domain is
        unknown, and the parent's problem is already listed).
        """
        problems = self._space_problems(config) + self._unknown_problems(config)
        good: dict[str, Any] = {}
        for choice in self.choices:
            known = all(p in good for p in choice.parents)
            problem = self._value_problem(choice, config, good if known else None)
            if problem:
                problems.append(problem)
            elif known:
                good[choice.name] = config[choice.name]
        if problems:
            where = f" for space `{self.space}`" if self.space else ""
            raise ConfigError(joined(f"invalid config{where}", problems), tuple(problems))
        return Config(good, self.space or getattr(config, "space", None))

    def _space_problems(self, config: Mapping[str, Any]) -> list[str]:
        other = getattr(config, "space", None)
        if self.space and other and other != self.space:
            return [f"the config is for space `{other}`, not `{self.space}`"]
        return []

    def _unknown_problems(self, config: Mapping[str, Any]) -> list[str]:
        problems = []
        for name in config:
            if name not in self._by_name:
                hint = suggest(str(name), self._by_name)
                problems.append(
                    f"unknown choice {shown_name(name)}" + (f"; {hint}" if hint else "")
                )
        return problems

    def _value_problem(
        self, choice: Choice, config: Mapping[str, Any], parents: Mapping[str, Any] | None
    ) -> str | None:
        try:
            domain = self._domain(choice, parents) if parents is not None else None
        except ConfigError as err:
            return str(err)
        if choice.name not in config:
            shown = f" (candidates: {dom.candidates(domain)})" if domain else ""
            return f"missing choice `{choice.name}`{shown}"
        value = config[choice.name]
        if not dom.has_type(choice, value):
            return f"`{choice.name}` must be {dom.expected_type(choice)}, got {show(value)}"
        if domain is None or value in domain:
            return None
        when = f" when {dom.parent_values(choice, parents)}" if choice.dependent else ""
        return (
            f"`{choice.name}` = {show(value)} is not a candidate{when}; candidates: "
            f"{dom.candidates(domain)}"
        )

    # ---- building configs

    def _build(self, pick: Pick) -> Config:
        """A config made by `pick(choice, domain)` for each choice in order."""
        values: dict[str, Any] = {}
        for choice in self.choices:
            values[choice.name] = pick(choice, self._domain(choice, values))
        return Config(values, self.space)

    def default(self) -> Config:
        """The declared defaults (a dependent default follows its parents' defaults)."""
        return self._build(lambda c, _d: c.default)

    def sample(self, seed: Rng = None) -> Config:
        """A random config: each choice uniform over its domain, in table order.

        Uniform per choice, not over configs: with `g` in `divisors(w * e)`, a
        `(w, e)` with few divisors is as likely as one with many. The same seed
        gives the same config.
        """
        rng = make_rng(seed)
        return self._build(lambda _c, d: rng.choice(d))

    def per_choice_end(self, which: str) -> Config:
        """Each choice at its own end ("largest": the maximum number, `true`, or the LAST
        candidate; "smallest": the minimum, `false`, the FIRST), dependent domains under
        their parents' values.

        Not the costliest or cheapest config (an op choice's cost is not its place in
        the list): `Space.largest()`/`smallest()` are, and start from this."""
        return self.complete({}, which)

    def complete(self, fixed: Mapping[str, Any], which: str) -> Config:
        """`fixed`'s values, every other choice at its end as in `per_choice_end`."""
        pick, end = {"largest": (max, -1), "smallest": (min, 0)}[which]
        return self._build(
            lambda c, d: fixed[c.name] if c.name in fixed else _extreme(c, d, pick, end)
        )

    def size(self) -> int:
        """The exact number of valid configs (see `counting`)."""
        if self._size is None:
            self._size = count_configs(self.choices, self._domain)
        return self._size

    def configs(self) -> Iterator[Config]:
        """Every valid config, in table order (only sensible for small spaces: see size())."""
        names = self.names

        def extend(i: int, partial: dict[str, Any]) -> Iterator[Config]:
            if i == len(names):
                yield Config(partial, self.space)
                return
            for value in self._domain(self.choices[i], partial):
                yield from extend(i + 1, {**partial, names[i]: value})

        return extend(0, {})

    def encode(self, config: Mapping[str, Any]) -> list[int]:
        """The position of each value in its domain (under the config's parents), in order."""
        config = self.validate(config)
        return [self._domain(c, config).index(config[c.name]) for c in self.choices]

    def decode(self, vector: Sequence[int], clip: bool = False) -> Config:
        """The config whose values sit at these domain positions; the inverse of `encode`.

        An index outside its domain is an error, unless `clip`: then it is moved
        to the nearest end. Clipping suits mutation operators that add noise to
        a vector and do not know that a dependent domain shrank; with it every
        vector of the right length decodes.
        """
        if len(vector) != len(self.choices):
            raise ConfigError(
                f"expected {len(self.choices)} indices (one per choice), got {len(vector)}"
            )
        problems: list[str] = []
        values: dict[str, Any] = {}
        for i, choice in enumerate(self.choices):
            if any(p not in values for p in choice.parents):
                continue  # a parent's index is wrong: that problem is reported already
            domain = self._domain(choice, values)
            when = f" when {dom.parent_values(choice, values)}" if choice.dependent else ""
            index, problem = _index(vector[i], len(domain), clip, when)
            if problem:
                problems.append(f"position {i} (`{choice.name}`): {problem}")
            else:
                values[choice.name] = domain[index]
        if problems:
            raise ConfigError(joined("cannot decode the vector", problems), tuple(problems))
        return Config(values, self.space)

    def cardinalities(self, config: Mapping[str, Any]) -> list[int]:
        """The domain size of each position under `config`: the bounds for integer mutation."""
        config = self.validate(config)
        return [len(self._domain(c, config)) for c in self.choices]

    # ---- variation (evolutionary search)

    def mutate(
        self, config: Mapping[str, Any], seed: Rng = None, prob: float | None = None
    ) -> Config:
        """A valid mutant of `config`; see `variation.mutate`."""
        rng = make_rng(seed)
        return mutate(self.validate(config), rng, prob, self._build)

    def crossover(self, a: Mapping[str, Any], b: Mapping[str, Any], seed: Rng = None) -> Config:
        """A valid child of `a` and `b`; see `variation.crossover`."""
        rng = make_rng(seed)
        return crossover(self.validate(a), self.validate(b), rng, self._build)


def _extreme(choice: Choice, domain: tuple[Any, ...], pick: Callable, end: int) -> Any:
    if choice.kind in ("int", "float", "bool"):
        return pick(domain)
    return domain[end]


def _index(raw: Any, size: int, clip: bool, when: str) -> tuple[int, str | None]:
    """A checked domain position from a vector entry; (0, message) when it is unusable."""
    if isinstance(raw, bool) or not hasattr(raw, "__index__"):
        return 0, f"{raw!r} is not an integer index"
    index = raw.__index__()
    if clip:
        return min(max(index, 0), size - 1), None
    if not 0 <= index < size:
        return 0, f"index {index} is out of range; the domain has {size} candidates{when}"
    return index, None
