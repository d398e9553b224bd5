"""Strategies on a toy space with a known synthetic objective, and the trial loop:
evolution beats random, no proposal breaks a limit, replay equals the original run,
a killed log resumes to the same trials, repeats cost no evaluation."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archc
from archc.runtime.search.limits import check_reachable, feasibility, search_limits
from archc.runtime.search.strategies import SearchError, config_key, make_strategy
from archc.runtime.search.trial_log import TrialLog
from archc.runtime.search.trials import run_trials
from tests.example_spaces import ROOT

# Six widths of five values each: 15,625 configs, every one a different network.
TOY = """
import std

space toy {
    input image: [3, 32, 32]
    let x = image
    let x = x -> conv(choice(4, 8, 12, 16, 20), k=3) as c0 -> relu
    let x = x -> conv(choice(4, 8, 12, 16, 20), k=3) as c1 -> relu
    let x = x -> conv(choice(4, 8, 12, 16, 20), k=3) as c2 -> relu
    let x = x -> conv(choice(4, 8, 12, 16, 20), k=3) as c3 -> relu
    let x = x -> conv(choice(4, 8, 12, 16, 20), k=3) as c4 -> relu
    output y = x -> conv(choice(4, 8, 12, 16, 20), k=3) as c5
}
"""
TARGET = (12, 8, 20, 4, 16, 12)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    path = tmp_path_factory.mktemp("toy") / "toy.arch"
    path.write_text(TOY)
    return archc.load(path)


def objective(config) -> float:
    """1 at TARGET, falling with the distance to it (in width steps)."""
    values = list(config.values())
    return 1.0 - sum(abs(v - t) // 4 for v, t in zip(values, TARGET, strict=True)) / 24


def synthetic(configs):
    for config in configs:
        yield {
            "score": objective(config),
            "AP": objective(config),
            "AP50": None,
            "loss": None,
            "R": 0,
            "V": 0,
        }


def cost_of(space):
    def costs(configs):
        values = [space.cost(c) for c in configs]
        return {
            "params": [c.params for c in values],
            "macs": [c.macs for c in values],
            "latency_ms": None,
        }

    return costs


def search(
    space, folder: Path, strategy: str, evaluations: int, seed: int = 0, limits=(), **options
):
    folder.mkdir(parents=True, exist_ok=True)
    strat = make_strategy(strategy, space, feasibility(space, limits), seed, **options)
    return run_trials(strat, TrialLog(folder), evaluations, synthetic, cost_of(space), batch=4)


def _first_hit(records) -> int:
    return next((r["index"] for r in records if r["score"] == 1.0), len(records))


def test_evolution_finds_the_optimum_in_fewer_evaluations_than_random(toy, tmp_path) -> None:
    budget = 1500
    evo, rnd = [], []
    for seed in range(3):
        evo.append(
            _first_hit(
                search(
                    toy,
                    tmp_path / f"e{seed}",
                    "evolution",
                    budget,
                    seed,
                    population=16,
                    tournament=4,
                )
            )
        )
        rnd.append(_first_hit(search(toy, tmp_path / f"r{seed}", "random", budget, seed)))
    assert max(evo) < budget, evo  # evolution reaches the optimum in every seed
    assert statistics.mean(evo) * 3 < statistics.mean(rnd), (evo, rnd)


def test_nsga2_improves_on_its_first_generation(toy, tmp_path) -> None:
    records = search(toy, tmp_path / "n", "nsga2", 160, 1, population=16)
    first = max(r["score"] for r in records[:16])
    assert max(r["score"] for r in records) > first


@pytest.mark.parametrize("strategy", ["random", "evolution", "nsga2"])
def test_replay_equals_the_original_run_and_a_killed_log_resumes(toy, tmp_path, strategy) -> None:
    straight = search(toy, tmp_path / "a", strategy, 40, seed=3)
    lines = (tmp_path / "a" / "trials.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "b").mkdir()
    torn = "".join(lines[:13]) + lines[13][:25]  # killed while writing trial 13
    (tmp_path / "b" / "trials.jsonl").write_text(torn)
    resumed = search(toy, tmp_path / "b", strategy, 40, seed=3)
    drop = {"seconds"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed] == [
        {k: v for k, v in r.items() if k not in drop} for r in straight
    ]


def test_a_search_extends_to_more_evaluations_as_if_never_stopped(toy, tmp_path) -> None:
    straight = search(toy, tmp_path / "a", "evolution", 30, seed=1, population=8, tournament=3)
    search(toy, tmp_path / "b", "evolution", 18, seed=1, population=8, tournament=3)
    longer = search(toy, tmp_path / "b", "evolution", 30, seed=1, population=8, tournament=3)
    assert [r["config"] for r in longer] == [r["config"] for r in straight]


def test_another_searchs_log_is_refused_naming_the_trial(toy, tmp_path) -> None:
    search(toy, tmp_path / "a", "random", 8, seed=1)
    with pytest.raises(SearchError, match=r"trial 0 of the log is not what this search proposes"):
        search(toy, tmp_path / "a", "random", 12, seed=2)


def test_a_damaged_line_is_named(toy, tmp_path) -> None:
    search(toy, tmp_path / "a", "random", 6, seed=1)
    path = tmp_path / "a" / "trials.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + "{oops\n" + "".join(lines[3:]))
    with pytest.raises(SearchError, match=r"trials\.jsonl:3: not a JSON trial record"):
        TrialLog(tmp_path / "a")


def test_repeats_are_answered_from_the_log_without_evaluating(tmp_path) -> None:
    path = tmp_path / "tiny.arch"
    path.write_text(TOY.replace("choice(4, 8, 12, 16, 20)", "choice(4, 8)"))
    space = archc.load(path)  # 64 configs: a search of 80 must repeat some
    calls = []

    def counting(configs):
        calls.extend(configs)
        yield from synthetic(configs)

    strat = make_strategy("random", space, feasibility(space, ()), 0)
    (tmp_path / "s").mkdir()
    records = run_trials(strat, TrialLog(tmp_path / "s"), 80, counting, cost_of(space), batch=4)
    keys = [r["key"] for r in records]
    assert len(calls) == len(set(keys)) == 64
    for r in records:
        if r["repeat_of"] is not None:
            assert keys[r["repeat_of"]] == r["key"] and r["repeat_of"] < r["index"]
            assert r["score"] == records[r["repeat_of"]]["score"]


def test_an_unreachable_limit_names_the_smallest_cost(toy) -> None:
    low = toy.cost_range().macs[0]
    with pytest.raises(SearchError, match=rf"the smallest achievable is {low:,}$"):
        check_reachable(toy, search_limits(toy, max_macs=low - 1))
    check_reachable(toy, search_limits(toy, max_macs=low))


def test_a_latency_limit_without_a_table_is_an_error(toy) -> None:
    with pytest.raises(SearchError, match=r"--max-latency needs --lut"):
        search_limits(toy, max_latency=5.0)


def test_unknown_strategies_and_options_are_named(toy) -> None:
    f = feasibility(toy, ())
    with pytest.raises(
        SearchError, match=r"unknown strategy `evolutoin`.*did you mean `evolution`"
    ):
        make_strategy("evolutoin", toy, f, 0)
    with pytest.raises(SearchError, match=r"strategy `random`: .*population"):
        make_strategy("random", toy, f, 0, population=4)


SPACES = sorted((ROOT / "examples" / "spaces").glob("*.arch"))
LIGHT = [
    p
    for p in SPACES
    if p.stem
    in ("mobile_small", "darts_cell_demo", "hrnet_branches", "vipnas_mbv3", "efficientpose")
]


@pytest.mark.parametrize("path", LIGHT, ids=lambda p: p.stem)
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**16), fraction=st.floats(0.05, 0.6))
def test_no_proposal_breaks_a_limit(path: Path, seed: int, fraction: float) -> None:
    space = _load(path)
    low, high = space.cost_range().macs
    budget = low + fraction * (high - low)
    limits = search_limits(space, max_macs=budget)
    for name in ("random", "evolution"):
        options = {"population": 4, "tournament": 2} if name == "evolution" else {}
        strat = make_strategy(name, space, feasibility(space, limits), seed, **options)
        for _ in range(3):
            configs = strat.ask(3)
            assert all(not space.violations(c) and space.cost(c).macs <= budget for c in configs)
            strat.tell([_told(c) for c in configs])


_LOADED: dict[Path, object] = {}


def _load(path: Path):
    if path not in _LOADED:
        _LOADED[path] = archc.load(path)
    return _LOADED[path]


def _told(config):
    from archc.runtime.search.strategies import Trial

    return Trial(config, len(json.dumps(dict(config))) % 7 / 7, {})


def test_config_keys_are_stable_and_ignore_order(toy) -> None:
    config = toy.sample(0)
    shuffled = dict(reversed(list(config.items())))
    assert config_key(toy, config) == config_key(toy, shuffled)
