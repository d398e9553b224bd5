"""What differentiable drivers need from a supernet: the expected cost under the mixing
probabilities (exact: the argmax subnet's cost when alpha is one-hot, the brute-force
expectation otherwise), Fair-DARTS sigmoid weights, hard straight-through Gumbel that
computes one candidate, and DARTS-' auxiliary skip."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import archc
from archc.torch import build_supernet, expected_cost

SPACES = Path(__file__).resolve().parents[4] / "examples" / "spaces"

TINY = """\
import std

space tiny_mix {
    "Three mixed edges, one nested in a scope, for exact expectations."
    input image: [4, 16, 12]
    let x = image -> conv(8, k=3) -> bn -> relu
    let x = x -> oneof(sep_conv_3x3, dil_conv_3x3, skip, zero, realise=REALISE) as a
    let x = x -> oneof(sep_conv_3x3, avg_pool_3x3, skip, realise=REALISE) as b
    let y = x -> conv(choice(4, 8) as w, k=1) -> oneof(dil_conv_3x3, skip, realise=REALISE) as c
    output out = y -> conv(3, k=1, bias=true)
}
"""


# `b` between a conv branch and the input; `z` can cut the conv branch off with zero
ORPHANS = """\
import std

space orphans {
    "A mixed input (b) and a zero edge (z): both can orphan the conv branch."
    input image: [4, 16, 12]
    let x = image -> conv(8, k=3) -> bn -> relu
    let branch = x -> conv(8, k=3) -> oneof(sep_conv_3x3, zero, realise=REALISE) as z
    let side = x -> conv(8, k=1)
    let y = choice([branch, side], realise=REALISE) as b
    let y = y -> oneof(dil_conv_3x3, skip, realise=REALISE) as c
    output out = y -> conv(3, k=1, bias=true)
}
"""


def _tiny(tmp_path, realise: str = "weighted", text: str = TINY):
    path = tmp_path / "tiny_mix.arch"
    path.write_text(text.replace("REALISE", realise))
    return archc.load(path)


EXACT = ("darts_cell_demo", "efficientpose", "posenfs_mobilenet")


@pytest.fixture(scope="module")
def examples():
    return {name: archc.load(SPACES / f"{name}.arch") for name in EXACT}


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**16), name=st.sampled_from(EXACT))
def test_one_hot_alphas_give_the_cost_of_the_argmax_subnet(examples, seed, name) -> None:
    """Exact, though `zero` edges (darts_cell_demo) and mixed fused inputs (PoseNFS'
    fabric: 3.5x overcounted by a per-layer sum) orphan whole branches."""
    space = examples[name]
    net = build_supernet(space)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for alpha in net.arch.values():
            alpha.zero_()
            alpha[int(torch.randint(len(alpha), (1,), generator=g))] = 60.0
    config = net.argmax_config(space.default())
    exact = space.cost(config)
    for metric in ("macs", "params"):
        value = float(expected_cost(net, metric, space.default()).detach())
        assert value == pytest.approx(getattr(exact, metric), rel=1e-6), metric


@pytest.mark.parametrize("text", ["TINY", "ORPHANS"])
def test_random_alphas_give_the_brute_force_expectation(tmp_path, text) -> None:
    """Exact: also where a `zero` edge or a mixed input orphans the ops before it."""
    space = _tiny(tmp_path, text=ORPHANS if text == "ORPHANS" else TINY)
    net = build_supernet(space)
    torch.manual_seed(3)
    with torch.no_grad():
        for alpha in net.arch.values():
            alpha.normal_()
    probs = {c: p.detach() for c, p in net.mixing_probabilities().items()}
    widths = [{"w": 4}, {"w": 8}] if text == "TINY" else [{}]
    for fixed in widths:
        base = space.validate({**space.default(), **fixed})
        brute = {"macs": 0.0, "params": 0.0}
        for combo in itertools.product(*(net.labels[c] for c in sorted(net.labels))):
            config = space.validate({**base, **dict(zip(sorted(net.labels), combo, strict=True))})
            p = math.prod(
                float(probs[c][net.labels[c].index(v)])
                for c, v in zip(sorted(net.labels), combo, strict=True)
            )
            cost = space.cost(config)
            brute["macs"] += p * cost.macs
            brute["params"] += p * cost.params
        for metric, value in brute.items():
            assert float(expected_cost(net, metric, base).detach()) == pytest.approx(
                value, rel=1e-6
            )


def test_the_expected_cost_has_a_gradient_for_every_priced_choice(tmp_path) -> None:
    net = build_supernet(_tiny(tmp_path))
    expected_cost(net, "macs").backward()
    for choice in ("a", "b", "c"):
        assert net.arch[choice].grad.abs().sum() > 0, choice


def test_bad_metrics_are_refused(tmp_path) -> None:
    net = build_supernet(_tiny(tmp_path))
    with pytest.raises(ValueError, match="unknown cost metric 'flops'"):
        expected_cost(net, "flops")
    with pytest.raises(ValueError, match="needs a latency table"):
        expected_cost(net, "latency")


LAST = """\
import std

space last_mix {
    "The mixed op is the output: the output is the mixture itself."
    input image: [4, 16, 12]
    let x = image -> conv(8, k=3) -> bn -> relu
    output out = x -> oneof(sep_conv_3x3, skip, zero, realise=REALISE) as c
}
"""


def _last(tmp_path, realise: str):
    path = tmp_path / "last_mix.arch"
    path.write_text(LAST.replace("REALISE", realise))
    return archc.load(path)


def _forced(space, net, x, train: bool) -> list[torch.Tensor]:
    """The output with `c` forced to each candidate, on the same weights."""
    outs = []
    for label in net.labels["c"]:
        probe = build_supernet(space, {"c": "sampled"})
        probe.load_state_dict(
            {k: v for k, v in net.state_dict().items() if not k.startswith("arch.")}
        )
        probe.set_active({**space.default(), "c": label})
        probe.train(train)
        outs.append(probe(x))
    return outs


def test_sigmoid_weights_mix_candidates_independently(tmp_path) -> None:
    space = _last(tmp_path, "weighted")
    torch.manual_seed(0)
    net = build_supernet(space, {"c": "sigmoid"})
    net.set_active(space.default())
    net.eval()
    alpha = torch.tensor([0.3, -1.2, 2.0])
    with torch.no_grad():
        net.arch["c"].copy_(alpha)
    x = torch.randn(2, 4, 16, 12)
    outs = _forced(space, net, x, train=False)
    expected = sum(w * o for w, o in zip(torch.sigmoid(alpha), outs, strict=True))
    assert torch.allclose(net(x), expected, atol=1e-6)
    assert torch.equal(net.mixing_probabilities()["c"], torch.sigmoid(alpha))
    assert net.argmax_config()["c"] == "zero"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hard_gumbel_computes_only_the_drawn_candidate(tmp_path, seed) -> None:
    space = _last(tmp_path, "gumbel")
    torch.manual_seed(0)
    net = build_supernet(space)
    net.hard, net.tau = True, 1.0
    net.set_active(space.default())
    net.train()
    x = torch.randn(2, 4, 16, 12)
    torch.manual_seed(seed)
    drawn = int(torch.nn.functional.gumbel_softmax(net.arch["c"].detach(), hard=True).argmax())
    torch.manual_seed(seed)
    out = net(x)
    torch.manual_seed(seed)
    assert torch.equal(net(x), out)  # the draw follows torch's generator
    assert torch.allclose(out, _forced(space, net, x, train=True)[drawn], atol=1e-6)
    out.square().sum().backward()
    sep = [p for n, p in net.named_parameters() if "sep_conv" in n]
    assert sep and all((p.grad is not None) == (drawn == 0) for p in sep)
    if drawn != 2:  # zero's output is constant: no gradient reaches its gate
        assert net.arch["c"].grad.abs().sum() > 0


def test_the_auxiliary_skip_adds_the_branch_point_of_each_mixed_op(tmp_path) -> None:
    space = _last(tmp_path, "weighted")
    torch.manual_seed(0)
    net = build_supernet(space)
    net.set_active(space.default())
    net.eval()
    x = torch.randn(2, 4, 16, 12)
    plain = net(x)
    net.aux_skip = 0.7
    branch = _forced(space, net, x, train=False)[1]  # `skip`: the mixed op's input
    assert torch.allclose(net(x), plain + 0.7 * branch, atol=1e-6)
    net.aux_skip = 0.0
    assert torch.equal(net(x), plain)
