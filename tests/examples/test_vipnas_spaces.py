"""The ViPNAS search spaces of examples/spaces/ (Tables A2 and A3): the released
S-ViPNAS-ResNet50 is a config of the Table A2 space and counts exactly what
examples/nets/vipnas_res50.arch counts; HRNet-W32 is a config of the Table A3 space; the
decisions are shared per stage, with A.2's search steps and group counts that divide
their channels."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import archc
from archc.cli import main as cli
from archc.compiler.ir import input_ids
from archc.compiler.space import Config
from archc.kernel.symbolic import ChoiceRef

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPACES = EXAMPLES / "spaces"
RES50 = SPACES / "vipnas_res50.arch"
RELEASED = SPACES / "vipnas_res50.released.json"
HRNET = SPACES / "vipnas_hrnet_w32.arch"


def info(capsys, path: Path, *options: str) -> dict:
    assert cli.main(["info", str(path), "--json", *options]) == 0
    return json.loads(capsys.readouterr().out)


def domain(space, name: str, parents: dict | None = None) -> list:
    """The candidates of choice `name` when the choices its domain reads have `parents`."""
    return list(space.table.domain_of(name, parents))


def test_the_std_options_these_spaces_use():
    """basic_block's kernel, groups and SE (Table A3), bottleneck's SE and forced
    projection; without them the blocks are unchanged."""
    text = """import std
net n {
    "std options used by the ViPNAS spaces."
    input image: [3, 64, 48]
    let x = image -> conv(32, k=3)
    let a = x -> basic_block(32, k=5, groups=4, se=true) as a
    let b = a -> bottleneck(32, expansion=1, project=true, se=true) as b
    output h = b -> bottleneck(32, expansion=1) as c
}
"""
    g = archc.load("n.arch", text).graph
    nodes = {ir.name: ir for ir in (g.nodes[n]["ir"] for n in g.nodes)}
    assert [
        (nodes[f"a.{c}"].attrs["k"], nodes[f"a.{c}"].attrs["groups"]) for c in ("conv", "conv_1")
    ] == [(5, 4), (5, 4)]
    for block in ("a", "b"):  # SE (ratio 4) on the residual branch, before the add
        assert nodes[f"{block}.se.squeeze"].attrs["out"] == 8
        first = input_ids(g, nodes[f"{block}.add"].id)[0]
        assert g.nodes[first]["ir"].name == f"{block}.se.mul"
    assert "b.shortcut.proj" in nodes  # 32 -> 32, projected all the same
    assert not [
        name for name in nodes if name.startswith("c.") and (".se." in name or "shortcut" in name)
    ]


# ------------------------------------------------------------------ ResNet-50 (Table A2)


@pytest.fixture(scope="module")
def res50():
    return archc.load(RES50)


def test_released_res50_config_counts_exactly_what_the_net_counts(capsys):
    net = info(capsys, EXAMPLES / "nets" / "vipnas_res50.arch")
    space = info(capsys, RES50, "--config", str(RELEASED))
    assert (space["kind"], space["num_choices"]) == ("space", 23)
    assert space["params"] == net["params"] == 7_286_772
    assert space["macs"] == net["macs"] == 1_464_409_440
    assert space["violations"] == []
    stages = {s["stage"]: (s["params"], s["macs"]) for s in space["stages"]}
    assert stages["backbone"] == (7_154_419, 1_432_780_128)
    assert stages["head"] == (132_353, 31_629_312)
    assert stages == {s["stage"]: (s["params"], s["macs"]) for s in net["stages"]}
    net_hrnet = info(capsys, EXAMPLES / "nets" / "vipnas_res50.arch", "--convention", "hrnet")
    space_hrnet = info(capsys, RES50, "--config", str(RELEASED), "--convention", "hrnet")
    assert space_hrnet["macs"] == net_hrnet["macs"]


def test_released_res50_config_is_valid_and_derives_the_nets_graph(res50):
    config = res50.validate(Config.load(RELEASED))
    derived = res50.derive(config).graph
    net = archc.load(EXAMPLES / "nets" / "vipnas_res50.arch").graph

    def ops(graph):
        return sorted(
            (ir.name, ir.op, tuple(ir.shape))
            for ir in (graph.nodes[n]["ir"] for n in graph.nodes)
            if ir.kind == "op"
        )

    assert ops(derived) == ops(net)


def test_res50_decisions_are_per_stage_with_the_table_a2_domains_and_steps(res50):
    names = [c.name for c in res50.choices]
    assert names[0] == "backbone.stem" and names[-2:] == ["head.w", "head.g"]
    for s in range(1, 5):
        assert [n.split(".")[-1] for n in names if f".layer{s}." in n] == [
            "depth",
            "w",
            "k",
            "g",
            "gc",
        ]
    assert domain(res50, "backbone.stem") == [32, 48, 64]
    assert domain(res50, "backbone.layer1.depth") == [3, 4]
    assert domain(res50, "backbone.layer3.depth") == [6, 7, 8]
    assert domain(res50, "backbone.layer2.w") == [128, 144, 160]
    assert domain(res50, "backbone.layer4.w") == list(range(512, 641, 16))
    assert domain(res50, "backbone.layer2.k") == [3, 5]
    assert domain(res50, "head.w") == list(range(64, 257, 16))
    # groups: the multiples of 16 in [16, 64] that divide the stage width
    assert domain(res50, "backbone.layer1.g", {"backbone.layer1.w": 80}) == [16]
    assert domain(res50, "backbone.layer1.g", {"backbone.layer1.w": 64}) == [16, 32, 64]
    assert domain(res50, "backbone.layer3.g", {"backbone.layer3.w": 288}) == [16, 32, 48]
    # the head's groups also divide the width of its input, stage 4's
    assert domain(res50, "head.g", {"head.w": 192, "backbone.layer4.w": 576}) == [16, 32, 48, 64]
    assert domain(res50, "head.g", {"head.w": 192, "backbone.layer4.w": 528}) == [16, 48]


def test_res50_one_kernel_group_and_attention_decision_per_stage(res50):
    g = res50.graph
    nodes = [g.nodes[n]["ir"] for n in g.nodes]
    middle = [
        n
        for n in nodes
        if n.name.startswith("backbone.layer3.") and n.name.endswith("bottleneck.conv_1")
    ]
    assert len(middle) == 8  # the largest depth
    assert {str(n.attrs["k"]) for n in middle} == {"backbone.layer3.k"}
    assert {str(n.attrs["groups"]) for n in middle} == {"backbone.layer3.g"}
    gates = [
        n
        for n in nodes
        if n.kind == "select"
        and n.name.startswith("backbone.layer3.")
        and n.attrs["cond"] == ChoiceRef("backbone.layer3.gc", "bool")
    ]
    assert len(gates) == 8


def test_res50_cost_range_and_sampling_under_a_budget(res50):
    r = res50.cost_range()
    assert r.exact
    assert r.params == (2_732_849, 10_111_015)
    assert r.macs == (550_109_184, 1_845_956_608)
    assert res50.size() == 3_661_701_120
    for seed in range(5):
        config = res50.sample(seed)
        assert res50.cost(config).macs >= r.macs[0]


# ------------------------------------------------------------------ HRNet-W32 (Table A3)


@pytest.fixture(scope="module")
def hrnet():
    return archc.load(HRNET)


def hrnet_w32_config(space) -> dict:
    """HRNet-W32 itself: the largest widths and depths, groups 1, no SE."""
    config = {
        "width[0]": 32,
        "width[1]": 64,
        "width[2]": 128,
        "width[3]": 256,
        "stem.w": 64,
        "layer1.depth": 4,
        "layer1.w": 64,
        "stage3.depth": 16,
        "stage4.depth": 12,
    }
    for c in space.choices:
        if c.name not in config:
            config[c.name] = 1 if c.name.split(".")[-1].startswith("g") else False
    return config


def test_hrnet_w32_is_a_config_of_the_table_a3_space(hrnet):
    net = archc.load(EXAMPLES / "nets" / "hrnet_w32.arch")
    config = hrnet.validate(hrnet_w32_config(hrnet))
    for convention in ("true", "hrnet"):
        assert hrnet.cost(config, convention) == net.cost(convention=convention)
    assert hrnet.cost(config).params == 28_536_113


def test_hrnet_depth_keeps_the_first_blocks_with_a_fuse_layer_after_every_fourth(hrnet):
    config = hrnet_w32_config(hrnet)
    params = [hrnet.cost({**config, "stage3.depth": d}).params for d in range(8, 17)]
    c = [32, 64, 128]
    block = sum(2 * (w * w * 9 + 2 * w) for w in c)  # one BasicBlock on each branch

    def conv_bn(cin, cout, k=1):
        return cin * cout * k * k + 2 * cout

    fuse = sum(conv_bn(c[j], c[i]) for i in range(3) for j in range(i + 1, 3))
    fuse += sum(
        conv_bn(c[j], c[i] if s == i - j - 1 else c[j], 3)
        for i in range(3)
        for j in range(i)
        for s in range(i - j)
    )
    steps = [b - a for a, b in itertools.pairwise(params)]
    # 8 -> 9 and 12 -> 13 open a new module: one block per branch and the fuse layer
    # that now separates the previous module from it
    assert steps == [block + fuse, block, block, block, block + fuse, block, block, block]


def test_hrnet_choices_follow_table_a3(hrnet):
    names = [c.name for c in hrnet.choices]
    assert len(names) == 29
    assert domain(hrnet, "width[0]") == [8, 16, 24, 32]
    assert domain(hrnet, "width[1]") == [16, 32, 48, 64]
    assert domain(hrnet, "width[3]") == list(range(64, 257, 16))
    assert domain(hrnet, "stem.w") == [16, 32, 48, 64]
    assert domain(hrnet, "layer1.depth") == [2, 3, 4]
    assert domain(hrnet, "stage3.depth") == list(range(8, 17))
    assert domain(hrnet, "stage4.depth") == list(range(8, 13))
    assert "stage2.depth" not in names  # Table A3: [4, 4]
    assert domain(hrnet, "layer1.g", {"layer1.w": 48}) == [1, 2, 3, 4, 6, 8, 12, 16]
    assert domain(hrnet, "stage4.g[0]", {"width[0]": 24}) == [1, 2, 3, 4, 6, 8, 12, 24]
    assert domain(hrnet, "stage3.g[2]", {"width[2]": 80}) == [1, 2, 4, 5, 8, 10, 16, 20, 40, 80]
    assert {n for n in names if ".se" in n} == {"layer1.se"} | {
        f"stage{s}.se[{b}]" for s in (2, 3, 4) for b in range(s)
    }


def test_hrnet_cost_range(hrnet):
    r = hrnet.cost_range()
    assert r.exact
    assert r.params == (149_753, 29_385_137)
    assert r.macs == (78_114_816, 7_645_839_360)


# ------------------------------------------------------------------ the command line


def sampled(capsys, path: Path, budget: str, space, n: int = 2) -> None:
    assert cli.main(["sample", str(path), "--max-macs", budget, "--n", str(n)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == n
    limit = float(budget[:-1]) * (1e9 if budget.endswith("G") else 1e6)
    for line in lines:
        config = Config(json.loads(line)["choices"])
        assert space.cost(config).macs <= limit
        assert space.violations(config) == []


def test_archc_sample_res50_under_a_mac_budget(capsys, res50):
    sampled(capsys, RES50, "800M", res50)


def test_archc_sample_hrnet_under_a_mac_budget(capsys, hrnet):
    sampled(capsys, HRNET, "1.5G", hrnet)


@pytest.mark.parametrize("path", [RES50, HRNET], ids=lambda p: p.stem)
def test_archc_viz_at_depth_two(tmp_path, path):
    out = tmp_path / f"{path.stem}.dot"
    assert cli.main(["viz", str(path), "--depth", "2", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("digraph") and len(text) < 60_000
