"""Regularised (aging) evolution, Real et al. 2019, within the limits.

The population is a queue: each child comes from a tournament (the best of
`tournament` members drawn at random), is a mutant of its winner (optionally
crossed with the runner-up first), joins the queue, and the *oldest* member
dies, whatever its score. Aging keeps the search moving: an architecture
that scored well once by luck of the shared weights does not stay forever
(once-for-all#75: a population collapsed to copies of one architecture).

Mutation goes through `ChoiceTable.mutate`, so dependent domains stay valid;
a mutant outside the limits is walked back inside (`Feasibility.repair`), and
a mutant equal to a config proposed before is mutated again (up to
`FRESH_TRIES` times). Ties in a tournament are broken at random, not by cost:
a fixed preference for cheaper ties drains the population's diversity (on
the test's toy space it kept 2 of 3 seeds from the optimum). The first
`population` configs are random draws within the limits. Children of one
`ask(n)` batch all come from the population as it was at the batch's start,
so the trials do not depend on how many workers evaluate the batch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from archc.compiler.space.config import Config
from archc.runtime.search.strategies.base import Feasibility, SearchError, Strategy, Trial


class Evolution(Strategy):
    name = "evolution"

    def __init__(
        self,
        space: Any,
        feasibility: Feasibility,
        seed: int,
        population: int = 32,
        tournament: int = 8,
        mutation_prob: float | None = None,
        crossover_prob: float = 0.0,
    ):
        super().__init__(space, feasibility, seed)
        if population < 2 or not 1 <= tournament <= population:
            raise SearchError(
                f"evolution needs population >= 2 and 1 <= tournament <= population, "
                f"got population {population}, tournament {tournament}"
            )
        if not 0 <= crossover_prob <= 1 or not (mutation_prob is None or 0 < mutation_prob <= 1):
            raise SearchError("mutation and crossover probabilities are in (0, 1] and [0, 1]")
        self.size, self.tournament = population, tournament
        self.mutation_prob, self.crossover_prob = mutation_prob, crossover_prob
        self.population: deque[Trial] = deque()
        self.told = 0

    def ask(self, n: int) -> list[Config]:
        return [self._next(self.told + i) for i in range(n)]

    def _next(self, index: int) -> Config:
        if index < self.size or len(self.population) < 2:
            return self.fresh(lambda: self.feasibility.draw(self.rng))
        return self.fresh(self._child)

    def _child(self) -> Config | None:
        contenders = self.rng.sample(list(self.population), self.tournament)
        contenders.sort(key=lambda t: -t.score)  # stable: ties stay in random order
        parent = contenders[0].config
        if len(contenders) > 1 and self.rng.random() < self.crossover_prob:
            parent = self.space.crossover(parent, contenders[1].config, self.rng)
        child = self.space.mutate(parent, self.rng, self.mutation_prob)
        return self.feasibility.repair(child, self.rng)

    def tell(self, trials: Sequence[Trial]) -> None:
        for trial in trials:
            self.population.append(trial)
            if len(self.population) > self.size:
                self.population.popleft()  # the oldest dies
        self.told += len(trials)
