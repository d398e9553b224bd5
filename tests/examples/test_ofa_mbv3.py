"""Once-for-All's MobileNetV3 space (examples/spaces/ofa_mbv3.arch, issue 20 item 5): the
exact params and MACs of its smallest and largest subnets as OFA's reference code counts
them, its number of distinct architectures, one kernel and expansion decision per block
and one depth per stage, OFA's SE width, and the supernet at the smallest config equals
the derived subnet."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

import archc
from archc.cli import main as cli

SPACE = Path(__file__).resolve().parents[2] / "examples" / "spaces" / "ofa_mbv3.arch"
STAGES = ["s2", "s3", "s4", "s5", "s6"]

# OFAMobileNetV3(ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4]),
# github:mit-han-lab/once-for-all f03b267: sum of numel over get_active_subnet()'s
# parameters (the numbers), and the MACs of OFA's counter (ofa/utils/flops_counter.py:
# conv and linear multiply-adds at 1x3x224x224) summed as integers. OFA's count_net_flops
# prints 566,170,688 for the largest: it sums in float32, which rounds above 2^24.
SMALLEST = {"params": 3_410_792, "macs": 121_278_672}  # ks 3, expand 3, depth 2
LARGEST = {"params": 7_664_760, "macs": 566_170_656}  # ks 7, expand 6, depth 4


@cache
def space(size: int = 224):
    return archc.load(SPACE, defines={"INPUT": [3, size, size]})


def uniform(ks: int, e: int, d: int) -> dict:
    config = {f"{s}.depth": d for s in STAGES}
    for s in STAGES:
        for i in range(4):
            config[f"{s}.blocks[{i}].k"] = ks
            config[f"{s}.blocks[{i}].e"] = e
    return config


def test_archc_check_accepts_it():
    assert cli.main(["check", "-q", str(SPACE)]) == 0


def test_one_kernel_and_expansion_per_block_and_one_depth_per_stage():
    sp = space()
    names = []
    for s in STAGES:
        names.append(f"{s}.depth")
        names += [f"{s}.blocks[{i}].{c}" for i in range(4) for c in ("k", "e")]
    assert [c.name for c in sp.choices] == names
    domains = {"depth": (2, 3, 4), "k": (3, 5, 7), "e": (3, 4, 6)}
    for c in sp.choices:
        assert c.realise == "elastic" and tuple(c.domain) == domains[c.name.split(".")[-1]]


def test_the_smallest_and_largest_subnets_count_what_ofa_counts():
    sp = space()
    r = sp.cost_range()
    assert r.exact
    assert r.params == (SMALLEST["params"], LARGEST["params"])
    assert r.macs == (SMALLEST["macs"], LARGEST["macs"])
    for config, ref in ((uniform(3, 3, 2), SMALLEST), (uniform(7, 6, 4), LARGEST)):
        cost = sp.cost(config)
        assert (cost.params, cost.macs) == (ref["params"], ref["macs"])
    assert dict(sp.smallest()) == uniform(3, 3, 2) and dict(sp.largest()) == uniform(7, 6, 4)


def test_distinct_architectures_ignore_the_blocks_beyond_the_active_depth():
    sp = space()
    per_block = 3 * 3  # kernel x expansion
    assert sp.size() == (3 * per_block**4) ** 5  # every config, inactive blocks included
    assert sp.architectures() == ((per_block**2 + per_block**3 + per_block**4) ** 5, True)


def test_archc_info_reports_the_same(capsys):
    assert cli.main(["info", str(SPACE), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["params_range"] == [SMALLEST["params"], LARGEST["params"]]
    assert r["macs_range"] == [SMALLEST["macs"], LARGEST["macs"]]
    assert int(r["architectures"]) == 7371**5 and r["architectures_exact"]


def _make_divisible(v: float, divisor: int = 8) -> int:  # ofa/utils/pytorch_modules.py
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


@pytest.mark.parametrize("e", [3, 4, 6])
def test_mid_follows_the_input_and_the_se_width_follows_the_elastic_mid(e):
    """DynamicMBConvLayer: mid = make_divisible(in * e, 8); DynamicSE: make_divisible(mid // 4,
    8). Block 0 of s3 reads s2's 24 channels, block 1 its own 40."""
    sp = space()
    config = dict(sp.smallest()) | {"s3.depth": 2, "s3.blocks[0].e": e, "s3.blocks[1].e": e}
    g = sp.derive(config).graph
    out = {
        ir.name: ir.attrs["out"] for ir in (g.nodes[n]["ir"] for n in g.nodes) if ir.op == "conv"
    }
    for block, cin in (0, 24), (1, 40):
        prefix = f"s3.blocks[{block}].ofa_mbconv"
        mid = _make_divisible(cin * e)
        assert out[f"{prefix}.expand_conv"] == out[f"{prefix}.dw_conv"] == mid
        assert out[f"{prefix}.ofa_se.reduce"] == _make_divisible(mid // 4)
        assert out[f"{prefix}.ofa_se.expand"] == mid and out[f"{prefix}.project"] == 40


def test_the_residuals_are_ofas():
    """ResidualBlock with an identity shortcut iff stride 1 and in == out: the first block,
    and every block of a stage but the first, except s5's first (80 -> 112)."""
    sp = space()
    g = sp.derive(sp.largest()).graph
    adds = sorted(
        ir.name.rsplit(".", 2)[0] for ir in (g.nodes[n]["ir"] for n in g.nodes) if ir.op == "add"
    )
    expected = ["first_block"] + [f"{s}.blocks[{i}]" for s in STAGES for i in (1, 2, 3)]
    assert adds == sorted(expected)


def test_the_supernet_at_the_smallest_config_equals_the_derived_subnet():
    torch = pytest.importorskip("torch")
    from archc.torch import build_supernet

    sp = space(64)  # float32: float64 depthwise convs are slow on CPU
    torch.manual_seed(0)
    net = build_supernet(sp).eval()
    assert sum(p.numel() for p in net.parameters()) == LARGEST["params"]
    config = sp.smallest()
    net.set_active(config)
    derived = net.derive(config).eval()
    assert sum(p.numel() for p in derived.parameters()) == SMALLEST["params"]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        got, expected = net(image=x), derived(image=x)
    assert got.shape == (2, 1000, 1, 1)
    assert torch.allclose(got, expected, atol=1e-6, rtol=0)
