"""The published pose networks in examples/nets/ count exactly what the reference
implementations count (shared/reference/published_architectures.md): params exactly, true
MACs within 0.5%, the papers' printed GFLOPs (HRNet convention) within 2%, the checkpoint
sub-totals per scope, through `archc info --json`, the Python API and the torch module;
and the variants the files' headers describe are one-line edits of a constant."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import archc
from archc.cli import main as cli
from archc.compiler.cost.count import node_cost
from archc.compiler.ir import facts
from archc.compiler.space import Config

NETS = Path(__file__).resolve().parents[2] / "examples" / "nets"
INPUT = "const INPUT = [3, 256, 192]"


@dataclass(frozen=True)
class Published:
    name: str
    params: int
    macs: float  # true MACs
    gflops: float  # as the papers print them (HRNet convention, / 2^30)
    scopes: dict[str, int] = field(default_factory=dict)  # params per top-level scope

    @property
    def path(self) -> Path:
        return NETS / f"{self.name}.arch"


# EfficientPose-A's head by hand: deconvs 96->64 and 64->32 (4x4, + BN), depthwise 3x3
# (32 x 9), 1x1 conv 32 -> 17 with bias.
EP_HEAD = 96 * 64 * 16 + 2 * 64 + 64 * 32 * 16 + 2 * 32 + 32 * 9 + 32 * 17 + 17

PUBLISHED = [
    Published(
        "simplebaseline_r50", 33_999_697, 5.426e9, 8.9, {"backbone": 23_508_032, "head": 10_491_665}
    ),
    Published(
        "hrnet_w32",
        28_536_113,
        7.645e9,
        7.1,
        {"stem": 38_848, "layer1": 286_208, "head": 32 * 17 + 17},
    ),
    Published("vipnas_mbv3", 5_895_725, 0.734e9, 0.69, {"backbone": 5_884_348, "head": 11_377}),
    Published("vipnas_res50", 7_286_772, 1.464e9, 1.44, {"backbone": 7_154_419, "head": 132_353}),
    Published(
        "efficientpose_a",
        1_299_393,
        0.407e9,
        0.5,
        {"backbone": 1_299_393 - EP_HEAD, "head": EP_HEAD},
    ),
]
IDS = [p.name for p in PUBLISHED]


def close(value: float, target: float, rel: float) -> bool:
    return abs(value - target) <= rel * target


def info(capsys, path: Path, *options: str) -> dict:
    assert cli.main(["info", str(path), "--json", *options]) == 0
    return json.loads(capsys.readouterr().out)


# ------------------------------------------------------------------ the published counts


@pytest.mark.parametrize("net", PUBLISHED, ids=IDS)
def test_archc_info_reports_the_published_counts(net, capsys):
    r = info(capsys, net.path)
    assert (r["kind"], r["num_choices"]) == ("net", 0)
    assert r["params"] == net.params
    assert close(r["macs"], net.macs, 0.005)
    stages = {s["stage"]: s["params"] for s in r["stages"]}
    assert {k: stages[k] for k in net.scopes} == net.scopes
    hrnet = info(capsys, net.path, "--convention", "hrnet")
    assert hrnet["params"] == net.params
    assert close(hrnet["macs"] / 2**30, net.gflops, 0.02)


@pytest.mark.parametrize("net", PUBLISHED, ids=IDS)
def test_the_api_gives_the_published_counts(net):
    space = archc.load(net.path)
    assert not space.choices
    cost = space.cost()
    assert cost.params == net.params
    assert close(cost.macs, net.macs, 0.005)
    assert close(space.cost(convention="hrnet").macs / 2**30, net.gflops, 0.02)
    for scope, params in net.scopes.items():
        assert space.cost_model(scope=scope)({}).params == params
    (out,) = facts(space.graph).outputs.values()
    assert space.graph.nodes[out]["ir"].shape == (17, 64, 48)


def params_where(space, keep) -> int:
    """Params of the ops whose hierarchical name satisfies `keep`."""
    g = space.graph
    return sum(node_cost(g, n, {}).params for n in g.nodes if keep(g.nodes[n]["ir"].name))


def test_hrnet_w32_posenfs_backbone_is_stem_to_transition3():
    space = archc.load(NETS / "hrnet_w32.arch")
    scopes = ["stem", "layer1", "transition1", "stage2", "transition2", "stage3", "transition3"]
    assert sum(space.cost_model(scope=s)({}).params for s in scopes) == 8_128_320


def test_vipnas_attention_subtotals():
    mbv3 = archc.load(NETS / "vipnas_mbv3.arch")
    assert params_where(mbv3, lambda name: ".se." in name) == 2_829_548
    res50 = archc.load(NETS / "vipnas_res50.arch")
    assert params_where(res50, lambda name: ".gc_block." in name) == 239_219
    # the true MACs include the GC blocks' context matmul: C x H x W per block, in
    # stages 1 (80 x 64 x 48, 4 blocks), 3 (304 x 16 x 12, 7) and 4 (608 x 8 x 6, 3)
    g = res50.graph
    pools = [n for n in g.nodes if g.nodes[n]["ir"].op == "attention_pool"]
    matmul = 4 * 80 * 64 * 48 + 7 * 304 * 16 * 12 + 3 * 608 * 8 * 6
    assert sum(node_cost(g, n, {}).macs for n in pools) == matmul
    assert sum(node_cost(g, n, {}, "hrnet").macs for n in pools) == 0


def test_vipnas_mbv3_net_equals_the_released_config_of_the_space():
    spaces = NETS.parent / "spaces"
    space = archc.load(spaces / "vipnas_mbv3.arch")
    released = Config.load(spaces / "vipnas_mbv3.released.json")
    net = archc.load(NETS / "vipnas_mbv3.arch")
    for convention in ("true", "hrnet"):
        assert net.cost(convention=convention) == space.cost(released, convention)


# ------------------------------------------------------------------ variants


def conv(cin: int, cout: int, k: int = 1, bias: bool = False) -> int:
    return cout * cin * k * k + (cout if bias else 0)


def conv_bn(cin: int, cout: int, k: int = 1) -> int:
    return conv(cin, cout, k) + 2 * cout


def simplebaseline_params(depths: list[int], joints: int = 17) -> int:
    """SimpleBaseline's parameter count, layer by layer (independent of archc)."""
    p, cin = conv_bn(3, 64, 7), 64
    for depth, planes in zip(depths, [64, 128, 256, 512], strict=True):
        for i in range(depth):
            p += conv_bn(cin, planes) + conv_bn(planes, planes, 3) + conv_bn(planes, 4 * planes)
            p += conv_bn(cin, 4 * planes) if i == 0 else 0
            cin = 4 * planes
    for width in [256, 256, 256]:
        p, cin = p + cin * width * 16 + 2 * width, width
    return p + conv(cin, joints, bias=True)


def hrnet_params(width: int, joints: int = 17) -> int:
    """HRNet's parameter count, layer by layer (independent of archc)."""
    c = [width * 2**b for b in range(4)]
    p = conv_bn(3, 64, 3) + conv_bn(64, 64, 3)  # stem
    p += conv_bn(64, 256)  # layer1: the first bottleneck's shortcut, then 4 bottlenecks
    p += conv_bn(64, 64) + 3 * conv_bn(256, 64) + 4 * (conv_bn(64, 64, 3) + conv_bn(64, 256))
    p += conv_bn(256, c[0], 3) + conv_bn(256, c[1], 3)  # transition1
    for n, modules in [(2, 1), (3, 4), (4, 3)]:
        p += conv_bn(c[n - 2], c[n - 1], 3) if n > 2 else 0  # transition2, transition3
        for m in range(modules):
            p += sum(8 * conv_bn(c[b], c[b], 3) for b in range(n))  # 4 BasicBlocks per branch
            outputs = 1 if (n, m) == (4, modules - 1) else n
            for i in range(outputs):
                for j in range(n):
                    if j > i:
                        p += conv_bn(c[j], c[i])
                    for step in range(i - j):  # j < i: i - j stride-2 3x3 convs
                        p += conv_bn(c[j], c[i] if step == i - j - 1 else c[j], 3)
    return p + conv(c[0], joints, bias=True)


def test_the_independent_counts_reproduce_the_published_ones():
    assert simplebaseline_params([3, 4, 6, 3]) == 33_999_697
    assert hrnet_params(32) == 28_536_113


# (file, the constant's line, its replacement, params, printed GFLOPs). Params from the
# counts above; for ResNet-101/152 they also equal torchvision's ResNet counts (44,549,160
# and 60,192,808) less the fc layer (2,049,000) plus the 10,491,665 of the head. The GFLOPs
# are the HRNet paper's, as quoted in the AutoPose and EfficientPose tables.
VARIANTS = [
    (
        "simplebaseline_r50",
        "const DEPTHS = [3, 4, 6, 3]",
        "const DEPTHS = [3, 4, 23, 3]",
        simplebaseline_params([3, 4, 23, 3]),
        12.4,
    ),
    (
        "simplebaseline_r50",
        "const DEPTHS = [3, 4, 6, 3]",
        "const DEPTHS = [3, 8, 36, 3]",
        simplebaseline_params([3, 8, 36, 3]),
        15.7,
    ),
    ("hrnet_w32", "const WIDTH = 32", "const WIDTH = 48", hrnet_params(48), 14.6),
]


@pytest.mark.parametrize(
    "name, line, new, params, gflops", VARIANTS, ids=["resnet101", "resnet152", "hrnet_w48"]
)
def test_variants_are_one_line_edits(tmp_path, name, line, new, params, gflops):
    space = archc.load(edited(tmp_path, name, line, new))
    cost = space.cost()
    assert cost.params == params
    assert close(space.cost(convention="hrnet").macs / 2**30, gflops, 0.02)


def test_known_variant_counts():
    assert simplebaseline_params([3, 4, 23, 3]) == 44_549_160 - 2_049_000 + 10_491_665
    assert simplebaseline_params([3, 8, 36, 3]) == 60_192_808 - 2_049_000 + 10_491_665
    assert hrnet_params(48) == 63_595_745  # 63.6M in the papers


@pytest.mark.parametrize("net", PUBLISHED, ids=IDS)
def test_384x288_input_is_a_one_line_edit(tmp_path, net):
    base = archc.load(net.path).cost()
    space = archc.load(edited(tmp_path, net.name, INPUT, "const INPUT = [3, 384, 288]"))
    cost = space.cost()
    (out,) = facts(space.graph).outputs.values()
    assert space.graph.nodes[out]["ir"].shape == (17, 96, 72)
    assert cost.params == base.params
    if net.name.startswith("vipnas"):  # SE / GC transforms work on pooled 1x1 maps
        assert 2.2 * base.macs < cost.macs < 2.25 * base.macs
    else:  # every layer has 1.5 x 1.5 times the pixels
        assert cost.macs * 4 == base.macs * 9


def test_hrnet_w48_at_384x288(tmp_path):
    text = (NETS / "hrnet_w32.arch").read_text()
    text = one_line_edit(text, "const WIDTH = 32", "const WIDTH = 48")
    text = one_line_edit(text, INPUT, "const INPUT = [3, 384, 288]")
    (tmp_path / "w48.arch").write_text(text)
    space = archc.load(tmp_path / "w48.arch")
    assert space.cost().params == hrnet_params(48)
    assert close(space.cost(convention="hrnet").macs / 2**30, 32.9, 0.02)


def one_line_edit(text: str, line: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    hits = [i for i, x in enumerate(lines) if x.startswith(line)]
    assert len(hits) == 1, f"`{line}` is not one line of the file"
    lines[hits[0]] = lines[hits[0]].replace(line, new, 1)
    return "".join(lines)


def edited(tmp_path: Path, name: str, line: str, new: str) -> Path:
    path = tmp_path / f"{name}.arch"
    path.write_text(one_line_edit((NETS / f"{name}.arch").read_text(), line, new))
    return path


# ------------------------------------------------------------------ torch


@pytest.mark.filterwarnings("ignore:Failed to initialize NumPy")
@pytest.mark.parametrize("net", PUBLISHED, ids=IDS)
def test_torch_module_has_the_published_params_and_heatmap_shape(net):
    torch = pytest.importorskip("torch")
    from archc.torch import build_module

    module = build_module(archc.load(net.path)).eval()
    assert sum(p.numel() for p in module.parameters()) == net.params
    with torch.no_grad():
        heatmaps = module(torch.randn(1, 3, 256, 192))  # one output: a tensor
    assert tuple(heatmaps.shape) == (1, 17, 64, 48)
