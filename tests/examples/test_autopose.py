"""The AutoPose space (examples/spaces/autopose.arch, AutoPose Sec. 3 and 4.2): one
cell architecture (alpha) shared by every stage while every cell has its own ops, a
controller switch per branch per stage (a switched-off branch is a skip connection,
all off is allowed), aggregation cells over exactly the active scales."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import archc
from archc.cli import main as cli
from archc.dsl.frontend import check_file

SPACES = Path(__file__).resolve().parents[2] / "examples" / "spaces"
AUTOPOSE = SPACES / "autopose.arch"
AP_OPS = ("conv_1x1", "conv_3x3", "conv_5x5", "avg_pool_3x3", "max_pool_3x3", "skip")


@cache
def elaborated():
    (space,) = check_file(AUTOPOSE).spaces
    return space


@cache
def autopose():
    return archc.load(AUTOPOSE)


def chooses(space, choice: str) -> list:
    """The `choose` nodes (one per use) of a decision."""
    return [n for n in space.nodes if n.kind == "choose" and n.attrs["choice"] == choice]


def switches(on: dict[int, list[int]]) -> dict:
    """The default config with branch b of stage s on exactly when b is in on[s]."""
    config = dict(autopose().default())
    for s in range(3):
        for b in range(4):
            config[f"stage[{s}].branch[{b}]"] = b in on.get(s, [])
    return config


def names(derived) -> list[str]:
    return [derived.graph.nodes[n]["ir"].name for n in derived.graph.nodes]


def test_choices_are_two_shared_cell_architectures_and_a_switch_per_branch():
    space = elaborated()
    ind = [f"ind[{j},{t}]" for t in range(2) for j in range(1 + t)]
    agg = [f"agg[{j},{t}]" for t in range(2) for j in range(4 + t)]
    branch = [f"stage[{s}].branch[{b}]" for s in range(3) for b in range(4)]
    assert [c.name for c in space.choices] == ind + agg + branch
    for c in ind + agg:
        spec = space.choice(c)
        assert (spec.kind, spec.realise, spec.domain) == ("op", "gumbel", AP_OPS)
    for c in branch:
        spec = space.choice(c)
        assert (spec.kind, spec.realise, spec.domain) == ("bool", "policy", (False, True))
    assert autopose().size() == 6**12 * 2**12 == 8_916_100_448_256


def test_alpha_is_shared_by_every_stage_and_cell():
    space = elaborated()
    # 3 stages x 2 modules x 4 branches x 2 individual cells, each with its own ops
    for t, j in [(0, 0), (1, 0), (1, 1)]:
        uses = chooses(space, f"ind[{j},{t}]")
        assert len(uses) == 48 and len({u.name for u in uses}) == 48
        assert {u.name.split(".")[0] for u in uses} == {"stage[0]", "stage[1]", "stage[2]"}
    # 3 x 2 x 4 aggregation cells; an edge from another scale is used only while it is on
    for j in range(4):
        uses = chooses(space, f"agg[{j},0]")
        assert len(uses) == 24
        assert sum("branch" in str(u.guard) for u in uses) == 24


def test_all_branches_off_is_the_stem_and_head_only():
    space = autopose()
    off = space.derive(switches({}))
    assert not [n for n in names(off) if n.startswith("stage[")]
    assert {n.split(".")[0] for n in names(off)} == {"image", "stem", "head"}
    one = space.derive(switches({1: [2]}))
    assert one.cost().params > off.cost().params


def test_an_aggregation_cell_takes_exactly_the_active_scales():
    space = autopose()
    derived = space.derive(switches({0: [0, 2], 1: [0, 1, 2, 3], 2: [3]}))
    all_names = names(derived)

    def resampled(stage: int, b: int) -> set[int]:
        prefix = f"stage[{stage}].module[0].ms_module.agg[{b}].resample["
        return {int(n[len(prefix)]) for n in all_names if n.startswith(prefix)}

    assert resampled(0, 0) == {2} and resampled(0, 2) == {0}
    assert not [
        n
        for n in all_names
        if n.startswith(
            ("stage[0].module[0].ms_module.agg[1]", "stage[0].module[0].ms_module.ind1[3]")
        )
    ]
    assert [resampled(1, b) for b in range(4)] == [{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}]
    assert resampled(2, 3) == set()
    # the head concatenates all four scales at 1/4: 16 + 32 + 64 + 128 channels
    nodes = {
        derived.graph.nodes[n]["ir"].name: derived.graph.nodes[n]["ir"] for n in derived.graph.nodes
    }
    assert nodes["head.final"].attrs["out"] == 17
    assert tuple(nodes["head.cat"].shape) == (240, 64, 48)


def test_cell_edges_follow_the_shared_alpha():
    space = autopose()
    config = switches({0: [0, 1, 2, 3]})
    config.update({c: "conv_5x5" for c in config if c.startswith("ind[")})
    config.update({c: "skip" for c in config if c.startswith("agg[")})
    derived = space.derive(config)
    convs = [n for n in names(derived) if ".ind[" in n and n.endswith("conv_op.conv")]
    assert len(convs) == 2 * 4 * 2 * 3  # modules x branches x cells x edges
    assert all(".conv_5x5." in n for n in convs)
    assert not [n for n in names(derived) if ".agg[" in n and "conv_op" in n]
    kernels = {
        derived.graph.nodes[n]["ir"].attrs["k"]
        for n in derived.graph.nodes
        if derived.graph.nodes[n]["ir"].name in convs
    }
    assert kernels == {5}


def test_the_cost_model_equals_the_derived_count_on_sampled_configs():
    space = autopose()
    model = space.cost_model()
    for seed in range(6):
        config = space.sample(seed)
        assert model(config) == space.derive(config).cost()


def test_archc_info_and_sample_under_a_budget(capsys):
    assert cli.main(["info", str(AUTOPOSE), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["num_choices"] == 24 and int(doc["size"]) == 6**12 * 2**12
    low, high = doc["macs_range"]
    assert low < high
    assert cli.main(["sample", str(AUTOPOSE), "--max-macs", "1.5G", "--n", "2"]) == 0
    configs = [json.loads(line)["choices"] for line in capsys.readouterr().out.splitlines()]
    assert len(configs) == 2
    assert all(autopose().cost(c).macs <= 1.5e9 for c in configs)


def test_the_single_branch_space_keeps_at_most_one_branch_per_stage():
    """Table 4's variant (-D SINGLE=true): one switch per stage naming the branch kept
    on (-1: none), the same cells; its subnets are those of the full space with at most
    one branch on per stage, so its cost range lies inside the full space's."""
    from archc.cli.common import load_space

    small = ["INPUT=[3, 128, 96]", "WIDTH=8", "MODULES=1"]
    single = load_space(str(AUTOPOSE), [*small, "SINGLE=true"])
    multi = load_space(str(AUTOPOSE), small)
    switches = {c.name: tuple(c.domain) for c in single.choices if "branch" in c.name}
    assert switches == {f"stage[{s}].branch": (-1, 0, 1, 2, 3) for s in range(3)}
    assert len(single.choices) == len(multi.choices) - 12 + 3
    one = dict(single.default()) | {f"stage[{s}].branch": 2 for s in range(3)}
    same = dict(multi.default()) | {
        f"stage[{s}].branch[{b}]": b == 2 for s in range(3) for b in range(4)
    }
    assert single.cost(one).macs == multi.cost(same).macs
    assert single.cost_range().macs[1] < multi.cost_range().macs[1]
