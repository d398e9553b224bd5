"""Mutation and crossover of configs that stay inside the space.

Evolutionary searches (ViPNAS, SPOS, Once-for-All) perturb configs choice by
choice. With dependent domains a naive operator produces invalid children:
change `w` from 18 to 24 and the group count `g` = 9 no longer divides
`w * e`. Rejecting such children wastes evaluations and biases the search
toward choices without dependents, so these operators repair instead: a value
that left its domain because a parent changed is re-sampled from the new
domain. Both operators therefore return valid configs for valid parents.

The operators build their result through the table's `build(pick)`, which
visits the choices in order and supplies each domain under the values picked
so far; they only decide which value to keep.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from archc.compiler.space.config import Config
from archc.compiler.space.domains import Choice

Build = Callable[[Callable[[Choice, tuple[Any, ...]], Any]], Config]


def mutate(config: Config, rng: random.Random, prob: float | None, build: Build) -> Config:
    """Each choice re-drawn with probability `prob` (default 1 / number of choices).

    A re-drawn choice takes a value different from its current one whenever its
    domain has another, so `prob` is the real rate of change. A choice that is
    not re-drawn keeps its value if the value is still a candidate, otherwise
    (a parent changed) it is re-sampled. One random number is drawn per choice
    whatever happens, so a seed gives the same stream for any config.
    """
    rate = prob if prob is not None else 1 / max(len(config), 1)
    if not 0 <= rate <= 1:
        raise ValueError(f"a mutation probability is between 0 and 1, got {rate}")

    def pick(choice: Choice, domain: tuple[Any, ...]) -> Any:
        old = config[choice.name]
        if rng.random() < rate:
            return rng.choice([v for v in domain if v != old] or domain)
        return old if old in domain else rng.choice(domain)

    return build(pick)


def crossover(a: Config, b: Config, rng: random.Random, build: Build) -> Config:
    """Uniform crossover: each choice from `a` or `b` with equal chance.

    When the inherited value is not a candidate under the child's parents (the
    parents came from the other config), the other config's value is tried,
    then a fresh sample from the domain.
    """

    def pick(choice: Choice, domain: tuple[Any, ...]) -> Any:
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        for value in (first[choice.name], second[choice.name]):
            if value in domain:
                return value
        return rng.choice(domain)

    return build(pick)
