"""The seed search spaces of issue 7 (examples/spaces/): PoseNFS (HRNet-W32 and MobileNetV2
backbones), EfficientPose (Table 1, small and large) and AutoPose. Per space: the choices
the paper defines (names, kinds, realisations, domains), the exact cardinality, that the
architecture decisions are shared exactly as the paper says, and published numbers that a
config of the space must reproduce (EfficientPose-A; the PoseNFS backbones)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

import archc
from archc.compiler.ir import facts
from archc.compiler.space import Config
from archc.dsl.frontend import check_file

SPACES = Path(__file__).resolve().parents[2] / "examples" / "spaces"
NETS = SPACES.parent / "nets"


@cache
def elaborated(name: str):
    (space,) = check_file(SPACES / f"{name}.arch").spaces
    return space


@cache
def load(name: str, **consts):
    path = SPACES / f"{name}.arch"
    text = path.read_text()
    for const, value in consts.items():
        text, n = re.subn(rf"^const {const} = .*$", f"const {const} = {value}", text, flags=re.M)
        assert n == 1, const
    return archc.load(path, text)


def chooses(space, choice: str) -> list:
    """The `choose` nodes (one per use) of a decision."""
    return [n for n in space.nodes if n.kind == "choose" and n.attrs["choice"] == choice]


# ---------------------------------------------------------------- EfficientPose

EP_LABELS = ("k3_e3", "k3_e6", "k5_e3", "k5_e6", "k7_e3", "k7_e6")
# EfficientPose-A (published_architectures.md): [kernel, expansion] per block and stage
EP_A = [
    [[3, 6], [7, 3], [3, 6], [3, 3]],
    [[3, 6], [3, 3], [5, 3], [3, 3], [3, 3], [3, 3]],
    [[5, 6]] + [[7, 3]] * 7,
    [[5, 6], [5, 6], [7, 6], [5, 6], [7, 3], [7, 3], [7, 3], [7, 6]],
]


@pytest.mark.parametrize("setting, layers", [("small", [4, 6, 10, 8]), ("large", [6, 8, 10, 10])])
def test_efficientpose_has_one_weighted_mbconv_choice_per_layer_of_table_1(setting, layers):
    space = load("efficientpose", SETTING=f'"{setting}"')
    names = [f"backbone.s{s + 1}.layer[{i}].op" for s, n in enumerate(layers) for i in range(n)]
    assert [c.name for c in space.choices] == names
    for c in space.choices:
        assert c.kind == "op" and c.realise == "weighted"
        first = c.name.endswith("layer[0].op")  # changes the width: no skip candidate
        assert c.domain == (EP_LABELS if first else ("skip", *EP_LABELS))
    assert space.size() == 6**4 * 7 ** (sum(layers) - 4)
    heatmaps = space.graph.nodes[facts(space.graph).outputs["heatmaps"]]["ir"].shape
    assert tuple(heatmaps) == (17, 64, 48)


def test_efficientpose_sizes_and_cost_range():
    space = load("efficientpose")
    assert space.size() == 248_289_275_869_214_073_063_696
    r = space.cost_range()
    assert r.exact and r.params == (185_561, 2_041_681)
    assert r.macs == (98_856_960, 667_373_568)


def ep_a_config() -> dict:
    return {
        f"backbone.s{s + 1}.layer[{i}].op": (
            f"k{blocks[i][0]}_e{blocks[i][1]}" if i < len(blocks) else "skip"
        )
        for s, (blocks, n) in enumerate(zip(EP_A, [4, 6, 10, 8], strict=True))
        for i in range(n)
    }


def test_efficientpose_a_is_a_config_of_the_small_setting_with_its_exact_numbers():
    space = load("efficientpose")
    shipped = Config.load(SPACES / "efficientpose.a.json")
    assert dict(shipped) == ep_a_config()
    cost = space.cost(shipped)
    assert (cost.params, cost.macs) == (1_299_393, 406_763_520)
    net = archc.load(NETS / "efficientpose_a.arch")
    assert net.cost() == cost
    # the same network, scope by scope
    derived = space.derive(shipped)
    for scope in ("backbone", "head"):
        assert derived.cost_model(scope=scope)({}) == net.cost_model(scope=scope)({})

    # op for op (the space's two skipped layers are identities)
    def ops(g):
        return sorted(
            (n.op, tuple(n.shape), tuple(sorted((k, str(v)) for k, v in n.attrs.items())))
            for n in (g.nodes[i]["ir"] for i in g.nodes)
            if n.kind == "op" and n.op != "skip"
        )

    assert ops(derived.graph) == ops(net.graph)


# ---------------------------------------------------------------- PoseNFS

P5 = {
    "head_shoulder": [0, 1, 2, 3, 4, 5, 6],
    "left_lower_arm": [7, 9],
    "right_lower_arm": [8, 10],
    "thigh": [11, 12],
    "lower_limbs": [13, 14, 15, 16],
}
P3 = {
    "head": [0, 1, 2, 3, 4],
    "upper_limbs": [5, 6, 7, 8, 9, 10],
    "lower_limbs": [11, 12, 13, 14, 15, 16],
}
CELLS = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0)]  # (layer, scale): L = 6, cut 3


@pytest.mark.parametrize(
    "name, parts, ops",
    [
        ("posenfs_hrnet", P5, ("zero", "skip", "dil_conv_3x3", "sep_conv_3x3")),
        ("posenfs_mobilenet", P3, ("skip", "dil_conv_3x3", "sep_conv_3x3")),
    ],
)
def test_posenfs_has_alpha_per_part_and_beta_per_cell(name, parts, ops):
    space = elaborated(name)
    alphas = [f"alpha[{p},0,0]" for p in parts]  # H = 1: one edge per cell
    betas = [f"part[{p}].layer[{j}].nfs_layer.cell[{i}].beta" for p in parts for j, i in CELLS]
    assert [c.name for c in space.choices] == alphas + betas
    for a in alphas:
        c = space.choice(a)
        assert (c.kind, c.realise, c.domain) == ("op", "weighted", ops)
    for b in betas:
        c = space.choice(b)
        assert (c.kind, c.realise, c.domain) == ("input", "weighted", (0, 1, 2))
    # the cardinality: |O|^P alphas times 3^(6 P) betas
    size = archc.load(SPACES / f"{name}.arch").size()
    assert size == len(ops) ** len(parts) * 3 ** (6 * len(parts))


@pytest.mark.parametrize("name, parts", [("posenfs_hrnet", P5), ("posenfs_mobilenet", P3)])
def test_posenfs_alpha_is_shared_within_a_fabric_and_distinct_across_parts(name, parts):
    space = elaborated(name)
    for p in parts:
        uses = chooses(space, f"alpha[{p},0,0]")
        # one use per cell of this part's fabric, each with its own candidate ops (weights)
        assert sorted(n.name.split(".cell.")[0] for n in uses) == sorted(
            f"part[{p}].layer[{j}].nfs_layer.cell[{i}]" for j, i in CELLS
        )
        sep = [
            n.name
            for n in space.nodes
            if n.op == "conv" and f".alpha[{p},0,0].sep_conv_3x3." in n.name
        ]
        assert len(sep) == 6 * 4  # 4 convs per sep_conv_3x3, in 6 cells
        assert all(s.startswith(f"part[{p}].") for s in sep)


@pytest.mark.parametrize(
    "name, parts, widths",
    [("posenfs_hrnet", P5, [64, 128, 256, 512]), ("posenfs_mobilenet", P3, [64, 128, 256, 512])],
)
def test_posenfs_heads_are_vectors_in_pixels_scattered_into_the_keypoint_maps(name, parts, widths):
    space = elaborated(name)
    assert sorted(k for g in parts.values() for k in g) == list(range(17))
    for p, group in parts.items():
        final = next(n for n in space.nodes if n.name == f"part[{p}].vector_head.final")
        assert final.attrs["out"] == 8 * len(group) and final.attrs["bias"] is True
        squash = next(n for n in space.nodes if n.name == f"part[{p}].vector_head.squash")
        assert squash.attrs["dim"] == 8
        scatter = next(n for n in space.nodes if n.name == f"part[{p}].scatter")
        assert list(scatter.attrs["index"]) == group and scatter.attrs["channels"] == 17
        # cells at 1/4 .. 1/16 in the kept layers, F * [4, 8, 16] channels
        projects = {
            n.name: n.attrs["out"]
            for n in space.nodes
            if n.name.startswith(f"part[{p}].") and n.name.endswith(".project")
        }
        assert sorted(projects.values()) == sorted(widths[i] for _, i in CELLS)
    out = space.nodes[dict(space.outputs)["heatmaps"]]
    assert out.op == "add" and len(out.inputs) == len(parts)


def _paths(parts, features: list[int]) -> dict:
    """Betas whose paths take part k's fabric to the backbone feature features[k]."""
    paths = [
        {(0, 0): 0, (1, 0): 0, (2, 0): 0},  # 1/4
        {(0, 1): 0, (1, 0): 2, (2, 0): 0},  # 1/8
        {(0, 2): 0, (1, 1): 2, (2, 0): 2},  # 1/16
        {(0, 2): 2, (1, 1): 2, (2, 0): 2},
    ]  # 1/32
    config = {}
    for k, p in enumerate(parts):
        config[f"alpha[{p},0,0]"] = "sep_conv_3x3"
        for j, i in CELLS:
            config[f"part[{p}].layer[{j}].nfs_layer.cell[{i}].beta"] = paths[features[k]].get(
                (j, i), 0
            )
    return config


def _mbv2_features() -> int:
    """MobileNetV2 features 0..16 counted by hand: stem conv + BN, inverted residuals."""
    total, cin = 3 * 32 * 9 + 2 * 32, 32
    for t, c, n in [(1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3)]:
        for _ in range(n):
            mid = cin * t
            total += (cin * mid + 2 * mid if t != 1 else 0) + mid * 9 + 2 * mid + mid * c + 2 * c
            cin = c
    return total


@pytest.mark.parametrize(
    "name, parts, features, backbone",
    [
        # HRNet-W32 stem .. transition3 (published: 8,128,320)
        ("posenfs_hrnet", P5, [0, 1, 2, 3, 3], 8_128_320),
        # MobileNetV2 features 0..16 ("MobileNet-V2 (1.3M)")
        ("posenfs_mobilenet", P3, [0, 1, 3], _mbv2_features()),
    ],
)
def test_posenfs_backbone_is_the_published_feature_pyramid(name, parts, features, backbone):
    space = archc.load(SPACES / f"{name}.arch")
    config = _paths(parts, features)
    derived = space.derive(config)
    assert derived.cost_model(scope="backbone")({}).params == backbone
    assert derived.cost() == space.cost(config)
    # in a config, each cell reads one input: a part keeps only its feature's reduce conv
    reduces = sorted(
        n
        for n in (derived.graph.nodes[i]["ir"].name for i in derived.graph.nodes)
        if ".reduce[" in n
    )
    assert reduces == sorted(f"part[{p}].reduce[{f}]" for p, f in zip(parts, features, strict=True))


def test_posenfs_a_part_that_reads_the_coarse_features_prunes_the_backbone():
    space = archc.load(SPACES / "posenfs_mobilenet.arch")
    fine = space.derive(_paths(P3, [0, 0, 0])).cost_model(scope="backbone")({})
    assert fine.params == 3 * 32 * 9 + 2 * 32 + 896 + 5136 + 8832  # blocks up to P1 (1/4)


def test_mbv2_features_by_hand():
    # torchvision's mobilenet_v2: 3,504,872 params, minus the classifier (1,281,000),
    # features[18] (1x1 conv 320 -> 1280 + BN: 412,160) and features[17] (473,920)
    assert _mbv2_features() == 3_504_872 - 1_281_000 - 412_160 - 473_920 == 1_337_792


@pytest.mark.parametrize("name", ["posenfs_hrnet", "posenfs_mobilenet"])
def test_cost_bounds_of_a_space_with_untabulated_terms_contain_every_sampled_config(name):
    """Terms over too many choices to tabulate still bound the range (they once were
    left out, and the printed maximum lay below real configs)."""
    space = load(name)
    r = space.cost_range()
    assert not r.exact
    for seed in range(30):
        cost = space.cost(space.sample(seed))
        assert r.params[0] <= cost.params <= r.params[1]
        assert r.macs[0] <= cost.macs <= r.macs[1]
