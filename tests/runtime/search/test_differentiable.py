"""The differentiable step: each strategy finds the candidate that alone fits the task,
a larger cost weight buys a cheaper architecture, and each update moves only what it
owns (weights in weight steps, alphas in architecture steps)."""

from __future__ import annotations

import pytest
import torch

import archc
from archc.runtime.search.cost_loss import CostTerm
from archc.runtime.search.drivers.differentiable import ArchOptimiser, DifferentiableStep
from archc.runtime.temperature import GumbelTemperature
from archc.runtime.train.step import StepContext
from archc.torch import build_supernet, expected_cost
from tests.runtime.search.search_fixtures import write_space

# The heatmaps are the input: only `skip` fits them exactly (zero gives the target's
# energy as loss, the pools blur). Weight-free candidates: only alpha can learn.
IDENTITY = """\
import std

space identity {
    "One mixed edge whose only exact candidate is the identity."
    input image: [17, 32, 24]
    output heatmaps = image -> oneof(avg_pool_3x3, max_pool_3x3, skip, zero, realise=REALISE) as e
}
"""

# Candidates of very different cost on a task every one of them can roughly fit.
PRICED = """\
import std

space priced {
    "Two mixed edges: a separable conv, a dilated conv, skip; then a head."
    input image: [8, 32, 24]
    let x = image -> oneof(sep_conv_3x3, dil_conv_3x3, skip, realise=weighted) as e1
    let x = x -> oneof(sep_conv_3x3, dil_conv_3x3, skip, realise=weighted) as e2
    output heatmaps = x -> conv(17, k=1, bias=true)
}
"""


def _space(tmp_path, text: str, realise: str = "weighted"):
    return archc.load(write_space(tmp_path, text.replace("REALISE", realise), "s.arch"))


def _ctx(held_out=None, epoch: int = 0, batch: int = 0) -> StepContext:
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    ctx = StepContext(torch.device("cpu"), False, scaler, seed=3, epoch=epoch, batch=batch)
    ctx.held_out = held_out
    return ctx


def _identity_batch(seed: int, channels: int = 17):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(4, channels, 32, 24, generator=g)
    return images, images.clone(), torch.ones(4, 17, 1), {}


def _step(space, mode: str, **kwargs) -> DifferentiableStep:
    torch.manual_seed(0)
    supernet = build_supernet(space)
    defaults = {"held_out": 0.5 if mode != "sync" else 0.0, "arch": ArchOptimiser(lr=0.05)}
    return DifferentiableStep(
        supernet, space.default(), mode=mode, epochs=4, **{**defaults, **kwargs}
    )


@pytest.mark.parametrize(
    ("mode", "realise"), [("darts", "weighted"), ("sync", "weighted"), ("gumbel", "gumbel")]
)
def test_every_strategy_converges_to_the_only_candidate_that_fits(tmp_path, mode, realise):
    space = _space(tmp_path, IDENTITY, realise)
    kwargs = {"temperature": GumbelTemperature(1.0, 0.5, 3)} if mode == "gumbel" else {}
    step = _step(space, mode, **kwargs)
    batches = iter(_identity_batch(1000 + i) for i in range(10_000))
    for epoch in range(4):
        step.begin_epoch(epoch, 1e-3)
        for b in range(40):
            step.step(next(batches), _ctx(lambda: next(batches), epoch, b))
    probs = step.supernet.mixing_probabilities()["e"].detach()
    assert step.supernet.argmax_config()["e"] == "skip"
    assert float(probs[2]) > 0.6, probs


def test_warm_up_epochs_leave_the_architecture_alone(tmp_path) -> None:
    space = _space(tmp_path, PRICED)
    step = _step(space, "darts", warmup=2)
    before = [a.detach().clone() for a in step.alphas]
    step.begin_epoch(1, 1e-3)
    batch = _identity_batch(0, channels=8)
    batch = (batch[0], torch.rand(4, 17, 32, 24), batch[2], {})
    step.step(batch, _ctx(lambda: batch, 1))
    assert all(torch.equal(a, b) for a, b in zip(step.alphas, before, strict=True))
    step.begin_epoch(2, 1e-3)
    step.step(batch, _ctx(lambda: batch, 2))
    assert not all(torch.equal(a, b) for a, b in zip(step.alphas, before, strict=True))


def _priced_batch(seed: int):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(4, 8, 32, 24, generator=g), torch.rand(4, 17, 32, 24, generator=g)


def test_each_update_moves_only_what_it_owns(tmp_path) -> None:
    """darts: weights get no gradient in architecture steps and alphas none in weight
    steps; the weight step alone changes every weight and no alpha."""
    space = _space(tmp_path, PRICED)
    step = _step(space, "darts")
    images, target = _priced_batch(0)
    batch = (images, target, torch.ones(4, 17, 1), {})
    seen = {}

    def held_out():
        # called between the two updates: the weight step is done, the arch one not
        seen["alpha_grads"] = [a.grad for a in step.alphas]
        seen["weights"] = [w.detach().clone() for w in step.weights]
        seen["alphas"] = [a.detach().clone() for a in step.alphas]
        return batch

    weights = [w.detach().clone() for w in step.weights]
    alphas = [a.detach().clone() for a in step.alphas]
    step.begin_epoch(0, 1e-3)
    step.step(batch, _ctx(held_out))
    assert all(g is None for g in seen["alpha_grads"])
    assert all(torch.equal(a, b) for a, b in zip(seen["alphas"], alphas, strict=True))
    assert all(not torch.equal(a, b) for a, b in zip(seen["weights"], weights, strict=True))
    assert all(w.grad is None for w in step.weights)  # the arch step gave them none
    assert all(torch.equal(w, b) for w, b in zip(step.weights, seen["weights"], strict=True))
    assert all(a.grad is not None for a in step.alphas)
    assert all(w.requires_grad for w in step.weights)  # restored after the step
    assert all(a.requires_grad for a in step.alphas)


def _expected_macs_after(space, weight: float) -> float:
    target = float(space.cost(space.smallest()).macs + space.cost(space.largest()).macs) / 2
    cost = CostTerm("log", weight, target) if weight else None
    step = _step(
        space,
        "sync",
        cost=cost,
        expected_cost=lambda net: expected_cost(net, "macs"),
        arch=ArchOptimiser(lr=0.03),
    )
    step.begin_epoch(0, 1e-3)
    for b in range(25):
        images, target_maps = _priced_batch(b)
        step.step((images, target_maps, torch.ones(4, 17, 1), {}), _ctx(None, 0, b))
    with torch.no_grad():
        return float(expected_cost(step.supernet, "macs"))


def test_a_larger_cost_weight_buys_fewer_expected_macs(tmp_path) -> None:
    space = _space(tmp_path, PRICED)
    macs = [_expected_macs_after(space, w) for w in (0.0, 0.3, 3.0)]
    assert macs[0] > macs[1] > macs[2], macs


@pytest.mark.parametrize("form", ["log", "fbnet", "linear"])
def test_cost_terms_grow_with_the_cost_and_keep_the_loss_positive(form) -> None:
    term = CostTerm(form, 0.5, target=2.0)
    task = torch.tensor(0.01)
    values = [float(term(task, torch.tensor(c))) for c in (0.1, 1.0, 2.0, 8.0)]
    assert values == sorted(values) and len(set(values)) == 4
    if form == "fbnet":  # a multiplier: positive at any cost, below the target too
        assert all(v > 0 for v in values)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"form": "square"}, "unknown cost form"),
        ({"weight": -1.0}, "must be >= 0"),
        ({"target": 0.0}, "must be > 0"),
    ],
)
def test_bad_cost_terms_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        CostTerm(**{"form": "log", "weight": 1.0, "target": 1.0, **kwargs})
