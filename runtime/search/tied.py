"""One architecture for every frame: `archc search --tie-frames` (ViPNAS Figure 6).

ViPNAS lets each propagation frame choose its own architecture under one budget over
the frames, and shows that this per-frame allocation beats one architecture repeated
on every frame. The baseline of that claim is the same search restricted to *tied*
configs, where every frame takes the first frame's choices. Restricting the proposals
is all it takes: every strategy draws and repairs through a `Feasibility`, so a
feasibility whose draws and repairs are tied makes random, evolution and nsga2 search
tied configs only, with the same supernet, evaluation and log as an untied search.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from archc.compiler.space.config import Config
from archc.runtime.search.strategies.base import Feasibility, SearchError

FRAME = re.compile(r"^frame\[(\d+)\]\.(.+)$")
DRAWS = 200  # uniform draws, tied, before repair walks
WALKS = 20  # repair walks from tied draws
STEPS = 60  # mutations per walk


def frame_copies(space: Any) -> dict[str, str]:
    """{a later frame's choice: the first frame's choice of the same name}; refuses a
    space whose choices are not per frame (not temporal, or one frame)."""
    frames: dict[str, dict[int, str]] = {}
    for choice in space.choices:
        match = FRAME.match(choice.name)
        if match:
            frames.setdefault(match.group(2), {})[int(match.group(1))] = choice.name
    copies = {
        name: per_frame[min(per_frame)]
        for per_frame in frames.values()
        for t, name in per_frame.items()
        if t != min(per_frame)
    }
    if not copies:
        raise SearchError(
            f"--tie-frames needs choices made per frame (named `frame[t]....`, as in a "
            f"temporal space: docs/temporal.md); `{space.name}` has none"
        )
    return copies


class TiedFeasibility(Feasibility):
    """Draws and repairs within the limits that give every frame the first's choices."""

    def __init__(self, inner: Feasibility, copies: Mapping[str, str]) -> None:
        super().__init__(inner.space, inner.sampler)
        self.copies = dict(copies)

    def tie(self, config: Mapping[str, Any]) -> Config:
        values = dict(config)
        values.update({name: values[first] for name, first in self.copies.items()})
        return Config(values, space=getattr(config, "space", None))

    def feasible(self, config: Mapping[str, Any]) -> bool:
        return self.tie(config) == config and super().feasible(config)

    def draw(self, rng: random.Random) -> Config:
        for _ in range(DRAWS):
            config = self.tie(self.space.sample(rng))
            if super().feasible(config):
                return config
        for _ in range(WALKS):
            config = self._walk(self.tie(self.space.sample(rng)), rng)
            if config is not None:
                return config
        raise SearchError(
            f"no config of `{self.space.name}` with one architecture for all frames was "
            "found within the limits: the budget over the frames may be below any tied "
            "config's cost (see `archc info`)"
        )

    def repair(self, config: Config, rng: random.Random) -> Config | None:
        return self._walk(self.tie(config), rng)

    def _walk(self, config: Config, rng: random.Random) -> Config | None:
        """Tied mutants toward the limits, keeping those that lower the excess."""
        excess = self.sampler.excess(config)
        for _ in range(STEPS):
            if not excess:
                return config
            mutant = self.tie(self.space.mutate(config, rng))
            mutant_excess = self.sampler.excess(mutant)
            if mutant_excess < excess:
                config, excess = mutant, mutant_excess
        return config if not excess else None
