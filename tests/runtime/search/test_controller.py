"""The REINFORCE controller: valid samples (dependent domains respected), determinism
from its generator, and learning a known reward: on a toy space where one switch
pattern scores 1 and every other 0, P(pattern) passes 0.9 and the entropy falls."""

from __future__ import annotations

import pytest
import torch

import archc
from archc.runtime.search.controller import Controller, Reinforce
from tests.runtime.search.search_fixtures import write_space

SWITCHES = """\
import std

space switches {
    "Four policy switches and a dependent choice; a conv so that the space is a net."
    input image: [3, 16, 12]
    let on = [choice(false, true, realise=policy) as branch[b] for b in range(4)]
    let n = choice(2, 3, 4, realise=policy) as depth
    let m = choice([d for d in divisors(n)], realise=policy) as width
    let xs = [(image -> conv(3, k=1) as sw[b]) if on[b] else image for b in range(4)]
    output out = add(xs) -> conv(4 * m, k=1) -> conv(2, k=1)
}
"""
TARGET = {"branch[0]": True, "branch[1]": False, "branch[2]": True, "branch[3]": True}


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    return archc.load(write_space(tmp_path_factory.mktemp("ctl"), SWITCHES, "switches.arch"))


@pytest.fixture(scope="module")
def table(space):
    return space.table


def _policy(table):
    return [c.name for c in table if c.realise == "policy"]


def test_samples_are_valid_and_follow_the_generator(table) -> None:
    torch.manual_seed(0)
    controller = Controller(table, _policy(table))
    assert sorted(controller.domains[_policy(table).index("width")]) == [1, 2, 3, 4]
    draws = []
    for seed in range(40):
        decisions, log_prob, entropy = controller.sample(torch.Generator().manual_seed(seed))
        assert decisions["depth"] % decisions["width"] == 0  # the dependent domain
        table.validate({**table.default(), **decisions})
        assert log_prob < 0 < entropy
        draws.append(decisions)
    again = [controller.sample(torch.Generator().manual_seed(s))[0] for s in range(40)]
    assert again == draws
    assert len({tuple(d.values()) for d in draws}) > 10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_controller_learns_the_rewarded_pattern(table, seed) -> None:
    torch.manual_seed(seed)
    controller = Controller(table, _policy(table), hidden=32)
    learner = Reinforce(controller, lr=0.02, entropy_weight=1e-4, baseline_decay=0.9)
    generator = torch.Generator().manual_seed(seed)
    start = controller.probability(TARGET)  # the switches come first: a prefix
    entropies = []
    for update in range(150):  # noqa: B007 (the count is asserted below)
        samples = []
        for _ in range(8):
            decisions, log_prob, entropy = controller.sample(generator)
            reward = float(all(decisions[k] == v for k, v in TARGET.items()))
            samples.append((log_prob, entropy, reward))
        entropies.append(learner.update(samples)["entropy"])
        if controller.probability(TARGET) > 0.9:
            break
    assert controller.probability(TARGET) > 0.9, (seed, update)
    assert update < 150 and start < 0.1
    assert sum(entropies[-5:]) / 5 < sum(entropies[:5]) / 5


def test_bad_options_are_refused(table) -> None:
    with pytest.raises(ValueError, match="at least one policy choice"):
        Controller(table, [])
    with pytest.raises(ValueError, match="baseline decay"):
        Reinforce(Controller(table, _policy(table)), baseline_decay=1.0)


class _Calibration:
    def __init__(self, images):
        self.images = images

    def calibration(self, crops: int):
        return [self.images]


def test_a_policy_only_space_trains_weights_under_samples_and_the_controller(space) -> None:
    """No mixed choice: the step trains the weights of sampled structures, and the
    controller (loss reward on a held-out batch) at the first batch of each epoch."""
    from archc.runtime.search.drivers.differentiable import DifferentiableStep
    from archc.runtime.search.drivers.reinforce import ReinforceStep
    from archc.runtime.train.step import StepContext
    from archc.torch import build_supernet

    torch.manual_seed(0)
    net = build_supernet(space)
    inner = DifferentiableStep(net, space.default(), mode="sync", epochs=2)
    assert inner.arch_optimizer is None
    controller = Controller(space.table, _policy(space.table))
    step = ReinforceStep(
        inner, controller, Reinforce(controller), space, reward="loss", held_out=0.5, updates=2
    )
    g = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, 16, 12, generator=g)
    batch = (images, torch.rand(4, 2, 16, 12, generator=g), torch.ones(4, 2, 1), {})
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    before = {k: v.clone() for k, v in {**net.state_dict(), **controller.state_dict()}.items()}
    for epoch in range(2):
        step.begin_epoch(epoch, 1e-2)
        for b in range(3):
            ctx = StepContext(torch.device("cpu"), False, scaler, seed=1, epoch=epoch, batch=b)
            ctx.held_out, ctx.validation = (lambda: batch), _Calibration(images)
            assert step.step(batch, ctx)["loss"] > 0
    assert [(h["epoch"], h["update"]) for h in step.history] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    after = {**net.state_dict(), **controller.state_dict()}
    assert any(not torch.equal(before[k], after[k]) for k in controller.state_dict())
    assert any(not torch.equal(before[k], after[k]) for k in net.state_dict())
