"""NSGA-II over (score, cost): the accuracy-cost front, with pymoo doing the genetics.

Non-dominated sorting, crowding distance, SBX crossover and polynomial
mutation come from pymoo (DyNAS-T's defaults: SBX p 0.9 eta 15, polynomial
mutation eta 20, rounding repair for integer genes, duplicate elimination);
archc adds what pymoo cannot know. A gene is a choice's index in its domain
under the values of the choices it depends on (`Space.encode`), bounded by
the largest such domain; a child's genes are decoded with clipping (a
dependent domain may be smaller under the child's parents), walked back
inside the limits when they break them, and written back into pymoo's
population, so the algorithm always reasons about the configs actually
evaluated.

pymoo works generation by generation: `ask(n)` returns at most the rest of
the current generation, and the next generation is bred once all of it has
been told.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from archc.compiler.decide import possible_values
from archc.compiler.ir import facts
from archc.compiler.space.config import Config
from archc.runtime.search.strategies.base import Feasibility, SearchError, Strategy, Trial

INSTALL = "pip install 'archc[search]'"


class NSGA2(Strategy):
    name = "nsga2"

    def __init__(
        self,
        space: Any,
        feasibility: Feasibility,
        seed: int,
        population: int = 32,
        cost: str = "macs",
        mutation_prob: float | None = None,
    ):
        super().__init__(space, feasibility, seed)
        if population < 2:
            raise SearchError(f"nsga2 needs a population >= 2, got {population}")
        self.cost = cost
        self.algorithm, self.problem = _algorithm(space, population, mutation_prob, seed)
        self.generation: Any = None  # pymoo Population of the current generation
        self.configs: list[Config] = []
        self.results: list[Trial | None] = []
        self.served = 0

    def ask(self, n: int) -> list[Config]:
        if self.generation is None or self.served == len(self.configs):
            if self.generation is not None and None in self.results:
                raise SearchError("nsga2: the generation must be told before the next ask")
            self._breed()
        out = self.configs[self.served : self.served + n]
        self.served += len(out)
        return out

    def tell(self, trials: Sequence[Trial]) -> None:
        start = self.results.index(None)
        self.results[start : start + len(trials)] = trials
        if None not in self.results:
            scores = [(-t.score, float(t.costs.get(self.cost, 0))) for t in self.results]
            self.generation.set("F", np.array(scores, dtype=float))
            self.algorithm.tell(infills=self.generation)

    def _breed(self) -> None:
        generation = self.algorithm.ask()
        rows, configs = [], []
        for genes in generation.get("X"):
            config = self._repaired(genes)
            configs.append(config)
            rows.append(self.space.encode(config))
        generation.set("X", np.array(rows, dtype=int))
        self.generation, self.configs = generation, configs
        self.results, self.served = [None] * len(configs), 0

    def _repaired(self, genes: np.ndarray) -> Config:
        config = self.space.decode([int(g) for g in genes], clip=True)
        inside = self.feasibility.repair(config, self.rng)
        if inside is None:
            inside = self.feasibility.draw(self.rng)
        self.proposed.add(self.key(inside))
        return inside


def gene_bounds(space: Any) -> np.ndarray:
    """The largest domain position of every choice, over all values of its parents."""
    specs = {c.name: c for c in facts(space.graph).choices}
    sizes = [
        len(choice.domain)
        if choice.domain is not None
        else len(possible_values(specs[name], specs))
        for name, choice in ((c.name, c) for c in space.choices)
    ]
    return np.array(sizes, dtype=int) - 1


def _algorithm(space: Any, population: int, mutation_prob: float | None, seed: int):
    try:
        from pymoo.algorithms.moo.nsga2 import NSGA2 as PymooNSGA2
        from pymoo.core.problem import Problem
        from pymoo.operators.crossover.sbx import SBX
        from pymoo.operators.mutation.pm import PM
        from pymoo.operators.repair.rounding import RoundingRepair
        from pymoo.operators.sampling.rnd import IntegerRandomSampling
    except ImportError:
        raise SearchError(f"--strategy nsga2 needs pymoo: {INSTALL}") from None
    upper = gene_bounds(space)
    problem = Problem(n_var=len(upper), n_obj=2, xl=np.zeros_like(upper), xu=upper, vtype=int)
    algorithm = PymooNSGA2(
        pop_size=population,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        mutation=PM(prob=1.0, prob_var=mutation_prob, eta=20, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    algorithm.setup(problem, seed=seed, verbose=False)
    return algorithm, problem
