"""`--tie-frames`: one architecture for every frame (ViPNAS Figure 6's baseline)."""

from __future__ import annotations

import random

import pytest

import archc
from archc.runtime.search.limits import feasibility, search_limits
from archc.runtime.search.strategies import SearchError, Trial, make_strategy
from archc.runtime.search.tied import TiedFeasibility, frame_copies
from tests.example_spaces import ROOT


@pytest.fixture(scope="module")
def temporal():
    return archc.load(ROOT / "examples/spaces/tiny_temporal.arch")


def tied(config) -> bool:
    """Every frame's choices equal frame 1's."""
    later = [n for n in config if n.startswith("frame[") and not n.startswith("frame[1].")]
    return all(config[n] == config["frame[1]." + n.split("].", 1)[1]] for n in later)


def test_later_frames_copy_the_first(temporal):
    copies = frame_copies(temporal)
    per_frame = [c.name for c in temporal.choices if c.name.startswith("frame[1].")]
    assert len(copies) == 2 * len(per_frame)  # T = 3: frames 2 and 3 copy frame 1
    assert copies["frame[3].t_net.s2.k"] == "frame[1].t_net.s2.k"
    assert set(copies.values()) == set(per_frame)


def test_draws_and_repairs_are_tied_and_within_the_budget(temporal):
    plain = feasibility(temporal, search_limits(temporal))
    tied_draws = TiedFeasibility(plain, frame_copies(temporal))
    rng = random.Random(0)
    for _ in range(20):
        config = tied_draws.draw(rng)
        assert tied(config) and plain.feasible(config) and tied_draws.feasible(config)
    untied = plain.draw(random.Random(1))
    assert not tied(untied) and not tied_draws.feasible(untied)
    repaired = tied_draws.repair(untied, rng)
    assert repaired is not None and tied(repaired) and plain.feasible(repaired)


@pytest.mark.parametrize("strategy", ["random", "evolution"])
def test_a_strategy_over_tied_draws_proposes_tied_configs_only(temporal, strategy):
    draws = TiedFeasibility(feasibility(temporal, search_limits(temporal)), frame_copies(temporal))
    search = make_strategy(
        strategy,
        temporal,
        draws,
        seed=0,
        **({"population": 4, "tournament": 2} if strategy == "evolution" else {}),
    )
    for step in range(4):
        configs = search.ask(4)
        assert all(tied(c) for c in configs)
        search.tell(
            [Trial(c, score=float(i + step), costs={"macs": 1.0}) for i, c in enumerate(configs)]
        )


def test_when_no_tied_config_is_found_the_search_is_refused(temporal):
    # the smallest config is tied, so limits any config meets are met by a tied one;
    # the refusal is for draws and walks that all fail, forced here
    draws = TiedFeasibility(feasibility(temporal, search_limits(temporal)), frame_copies(temporal))
    draws.sampler.excess = lambda config: 1.0
    with pytest.raises(SearchError, match="one architecture for all frames"):
        draws.draw(random.Random(0))


def test_a_space_without_frames_is_refused():
    space = archc.load(ROOT / "examples/spaces/demo.arch")
    with pytest.raises(SearchError, match="--tie-frames needs choices made per frame"):
        frame_copies(space)
