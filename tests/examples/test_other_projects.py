"""Other projects' networks and spaces written in `.arch` (docs/other_projects.md): each
counts what its original counts and, where we can run the original's structure, computes
what it computes. Lite-HRNet-18 against `litehrnet_reference.py` (written from the
original); DARTS's ops against the one-liners of its `operations.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

import archc

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from archc.torch import build_module, build_supernet  # noqa: E402
from tests.examples.litehrnet_reference import LiteHRNet18  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LITE_HRNET = ROOT / "examples" / "nets" / "lite_hrnet_18.arch"
DARTS = ROOT / "examples" / "spaces" / "darts_cifar.arch"
PRIMITIVES = (  # quark0/darts genotypes.py, in order
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)


def fill_by_shape(model: nn.Module) -> None:
    """Every conv and BN gets weights drawn from a generator seeded by its shape, so two
    implementations of one network get equal weights without naming the same layers
    alike. (Layers of one shape get equal weights: a swap between two of them would not
    show; everything else does.)"""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            g = torch.Generator().manual_seed(hash(tuple(m.weight.shape)) % 2**31)
            with torch.no_grad():
                m.weight.copy_(
                    torch.randn(m.weight.shape, generator=g) / m.weight[0].numel() ** 0.5
                )
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        elif isinstance(m, nn.BatchNorm2d):
            shape = m.running_mean.shape
            g = torch.Generator().manual_seed(hash((-1, *shape)) % 2**31)
            with torch.no_grad():
                m.running_mean.copy_(0.1 * torch.randn(shape, generator=g))
                m.running_var.copy_(1 + 0.1 * torch.rand(shape, generator=g))
                if m.affine:
                    m.weight.copy_(1 + 0.1 * torch.randn(shape, generator=g))
                    m.bias.copy_(0.1 * torch.randn(shape, generator=g))


def test_lite_hrnet_18_counts_and_computes_what_the_original_does():
    space = archc.load(LITE_HRNET)
    reference = LiteHRNet18().eval()
    assert space.cost(space.default()).params == 1_130_769
    assert sum(p.numel() for p in reference.parameters()) == 1_130_769
    ours = build_module(space).eval()
    fill_by_shape(ours)
    fill_by_shape(reference)
    x = torch.randn(1, 3, 256, 192, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got, want = ours(x), reference(x)
    assert got.shape == want.shape == (1, 17, 64, 48)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_the_darts_supernet_counts_as_the_original():
    space = archc.load(DARTS)
    supernet = build_supernet(space)
    assert sum(p.numel() for p in supernet.weight_parameters()) == 1_930_618
    assert sum(p.numel() for p in supernet.arch_parameters()) == 2 * 14 * 8
    assert set(supernet.labels.values()) == {PRIMITIVES}


def _darts_op(stride: int, op: str, c: int = 8):
    text = f"""import std

space one {{
    input x: [{c}, 8, 8]
    let edge = darts_ops({stride}) as e[0, 0]
    output y = x -> edge
}}
"""
    space = archc.load("one.arch", text)
    choice = space.choices[0].name
    return build_module(space.derive({choice: op})).eval()


def _reference_op(stride: int, op: str, c: int = 8) -> nn.Module:
    """quark0/darts operations.py (affine=False, as in the search network)."""
    relu = nn.ReLU()

    def bn(n):
        return nn.BatchNorm2d(n, affine=False)

    def sep(k):
        p = k // 2
        return nn.Sequential(
            relu, nn.Conv2d(c, c, k, stride, p, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False), bn(c), relu,
            nn.Conv2d(c, c, k, 1, p, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False), bn(c),
        )  # fmt: skip

    def dil(k):
        p = k // 2 * 2
        return nn.Sequential(
            relu, nn.Conv2d(c, c, k, stride, p, dilation=2, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False), bn(c),
        )  # fmt: skip

    class FactorizedReduce(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(c, c // 2, 1, 2, bias=False)
            self.c2 = nn.Conv2d(c, c // 2, 1, 2, bias=False)
            self.bn = bn(c)

        def forward(self, x):
            x = torch.relu(x)
            return self.bn(torch.cat([self.c1(x), self.c2(x[:, :, 1:, 1:])], dim=1))

    return {
        "max_pool_3x3": nn.Sequential(nn.MaxPool2d(3, stride, 1), bn(c)),
        "avg_pool_3x3": nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False), bn(c)),
        "skip_connect": nn.Identity() if stride == 1 else FactorizedReduce(),
        "sep_conv_3x3": sep(3),
        "sep_conv_5x5": sep(5),
        "dil_conv_3x3": dil(3),
        "dil_conv_5x5": dil(5),
    }[op].eval()


OPS = PRIMITIVES[1:]  # all but `none`


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("op", OPS)
def test_darts_ops_compute_what_operations_py_computes(op, stride):
    ours, reference = _darts_op(stride, op), _reference_op(stride, op)
    fill_by_shape(ours)
    fill_by_shape(reference)
    x = torch.randn(2, 8, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))


def test_darts_none_at_stride_2_is_a_zero_of_the_reduced_size():
    y = _darts_op(2, "none")(torch.randn(2, 8, 8, 8))
    assert y.shape == (2, 8, 4, 4) and not y.any()


def test_the_darts_derivation_keeps_two_edges_per_node_of_each_cell_type():
    space = archc.load(DARTS)
    supernet = build_supernet(space)
    torch.manual_seed(0)
    with torch.no_grad():
        for alpha in supernet.arch_parameters():
            alpha.normal_()
    config, kept = supernet.darts_config()
    assert sorted(kept) == [
        f"{kind}[*, {t}].oneof" for kind in ("normal", "reduce") for t in range(4)
    ]
    assert all(len(edges) == 2 for edges in kept.values())
    edges = [c for c in config if "[" in c]
    dropped = [c for c in edges if not any(c in kept_edges for kept_edges in kept.values())]
    assert len(dropped) == 28 - 16 and all(config[c] == "none" for c in dropped)
    assert all(config[c] != "none" for e in kept.values() for c in e)
    derived = supernet.derive(config).eval()
    assert derived(torch.randn(2, 3, 32, 32)).shape == (2, 10, 1, 1)
