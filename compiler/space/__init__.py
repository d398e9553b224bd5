"""The search-space API, choice-table half: configs and the table of choices.

`ChoiceTable(space.choices, space.name)` (or `ChoiceTable.of(space)`) turns the
front end's choices into what a search needs: sampling, validation with every
problem listed, exact counting, integer-vector encoding, mutation and crossover.
`Config` is one point of the space, saved and loaded as versioned JSON. No torch.
"""

from archc.compiler.space.config import Config, ConfigError
from archc.compiler.space.domains import Choice
from archc.compiler.space.table import ChoiceTable

__all__ = ["Choice", "ChoiceTable", "Config", "ConfigError"]
