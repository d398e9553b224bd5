"""Fixed networks built from the IR agree with the compiler: params exactly, MACs exactly
(an independent count with torch's FlopCounterMode), and the shape of every node."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archc  # noqa: E402
from archc.compiler.ir import shapes_under  # noqa: E402
from archc.torch import build_module  # noqa: E402
from tests.example_spaces import HEAVY, input_tensors  # noqa: E402

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
EXAMPLES = sorted(Path(__file__).resolve().parents[4].glob("examples/**/*.arch"))


@cache
def load(path: Path):
    return archc.load(path)


def subnets(path: Path):
    space = load(path)
    if not space.choices:
        return [("net", space, {})]
    configs = [
        ("largest", space.largest()),
        ("smallest", space.smallest()),
        *((f"sample{s}", space.sample(s)) for s in range(2)),
    ]
    return [(label, space.derive(c), c) for label, c in configs]


HEAVY_NETS = frozenset({"hrnet_w32", "simplebaseline_r50", "vitpose_b"})


def _cases() -> list:
    """(path, label) without compiling anything at collection; the largest and sampled
    subnets of heavy spaces run in `make test-slow` only."""
    out = []
    for p in EXAMPLES:
        labels = (
            ["net"] if p.parent.name == "nets" else ["largest", "smallest", "sample0", "sample1"]
        )
        for label in labels:
            # big nets (28M+ params) are exported and compared in test_export too
            slow = (p.stem in HEAVY and label != "smallest") or p.stem in HEAVY_NETS
            out.append(
                pytest.param(
                    p, label, id=f"{p.stem}-{label}", marks=[pytest.mark.slow] if slow else []
                )
            )
    return out


@pytest.mark.parametrize("path, label", _cases())
def test_built_module_matches_the_analytic_counts_and_shapes(path, label):
    [(_, derived, config)] = [s for s in subnets(path) if s[0] == label]
    space = load(path)
    module = build_module(derived).eval()
    cost = space.cost(config)
    assert sum(p.numel() for p in module.parameters()) == cost.params
    shapes = _shapes_seen(module, derived)
    expected = shapes_under(derived.graph, {})
    assert shapes == {n: expected[n] for n in shapes}
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(**input_tensors(derived))
    assert counter.get_total_flops() == 2 * cost.macs


def _shapes_seen(module, derived) -> dict[int, tuple]:
    """Run one forward and record the output shape of every op node."""
    seen: dict[int, tuple] = {}
    by_module: dict[int, list[int]] = {}
    for n, path, _ in module._plan:
        by_module.setdefault(id(module.module_at(path)), []).append(n)
    pending = {k: list(v) for k, v in by_module.items()}

    def hook(mod, args, out):
        n = pending[id(mod)].pop(0)
        seen[n] = tuple(out.shape[1:])

    unique = {id(module.module_at(p)): module.module_at(p) for _, p, _ in module._plan}
    handles = [m.register_forward_hook(hook) for m in unique.values()]
    with torch.no_grad():
        module(**input_tensors(derived, 2))
    for handle in handles:
        handle.remove()
    return seen


def test_state_dict_keys_follow_the_arch_names():
    space = load(
        next(p for p in EXAMPLES if p.parent.name == "spaces" and p.name == "vipnas_mbv3.arch")
    )
    module = build_module(space.derive(space.smallest()))
    keys = set(module.state_dict())
    assert "net.s2.blocks[0].mbconv.dw_conv.weight" in keys
    assert "net.head.deconv_head.final.bias" in keys


def test_a_space_with_choices_must_be_derived_first():
    space = load(next(p for p in EXAMPLES if p.name == "mobile_small.arch"))
    with pytest.raises(ValueError, match=r"has 18 choices: build `space\.derive"):
        build_module(space)


def test_shared_weights_share_one_module():
    text = """space f {
    input image: [3, 16, 16]
    scope a { let x = image -> conv(8, k=3) }
    scope b shares weights with a { let y = image -> conv(8, k=3) }
    output h = x + y
}
"""
    space = archc.load("f.arch", text)
    module = build_module(space)
    assert sum(p.numel() for p in module.parameters()) == 8 * 27 == space.cost().params
    assert space.cost().macs == 2 * 8 * 27 * 16 * 16  # computed twice, stored once
    assert module.module_at(("a", "conv")) is not None
