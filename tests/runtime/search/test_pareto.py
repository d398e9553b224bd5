"""The front and the hypervolume curve of a search, by AP and by loss."""

from __future__ import annotations

import pytest

from archc.runtime.search.pareto import front, hypervolume_curve


def _trials(scores_and_macs):
    return [
        {"index": i, "score": s, "macs": m, "repeat_of": None}
        for i, (s, m) in enumerate(scores_and_macs)
    ]


def test_the_front_keeps_the_non_dominated_trials_by_increasing_cost() -> None:
    trials = _trials([(0.5, 30), (0.4, 40), (0.6, 50), (0.3, 10)])
    assert [t["index"] for t in front(trials)] == [3, 0, 2]


@pytest.mark.parametrize("shift", [0.0, -1.0])  # AP, and minus a loss (all below 0)
def test_the_hypervolume_grows_with_every_improvement_whatever_the_score_sign(shift) -> None:
    trials = _trials([(0.2 + shift, 40), (0.1 + shift, 45), (0.3 + shift, 40), (0.2 + shift, 10)])
    curve = hypervolume_curve(trials, "macs", reference=50)
    assert curve[0] < curve[2] < curve[3] and curve[1] == curve[0]
    assert all(0 <= v <= 1.1 for v in curve)


def test_a_search_by_loss_no_longer_has_a_flat_zero_curve() -> None:
    trials = _trials([(-0.00220, 30), (-0.00218, 35), (-0.00215, 20)])
    curve = hypervolume_curve(trials, "macs", reference=40)
    assert curve[-1] > 0
