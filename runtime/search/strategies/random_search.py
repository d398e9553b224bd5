"""Random search: configs drawn uniformly within the limits, the baseline every search
must beat (ViPNAS samples 500 this way; EfficientPose and PoseNFS compare with it)."""

from __future__ import annotations

from collections.abc import Sequence

from archc.compiler.space.config import Config
from archc.runtime.search.strategies.base import Strategy, Trial


class RandomSearch(Strategy):
    """Uniform draws within the limits (repair walks where few configs fit, see
    `compiler/space/sampling.py`); never a config proposed before while new ones are
    found."""

    name = "random"

    def ask(self, n: int) -> list[Config]:
        return [self.fresh(lambda: self.feasibility.draw(self.rng)) for _ in range(n)]

    def tell(self, trials: Sequence[Trial]) -> None:
        """Random search learns nothing."""
