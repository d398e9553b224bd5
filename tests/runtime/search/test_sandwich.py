"""The sandwich step: which subnets a batch trains, that nothing outside them moves,
that distillation reaches the students only, and that evaluating a subnet leaves the
supernet as it was."""

from __future__ import annotations

import copy

import pytest
import torch

import archc
from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.recalibrate import kept_bn_statistics, recalibrate_bn
from archc.runtime.search.drivers.sandwich import SandwichStep
from archc.runtime.train.step import StepContext
from archc.torch import build_supernet
from tests.runtime.search.search_fixtures import write_space


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return archc.load(write_space(tmp_path_factory.mktemp("space")))


def _batch(seed: int = 0, n: int = 4):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, 64, 48, generator=g)
    target = torch.rand(n, 17, 32, 24, generator=g)
    weight = (torch.rand(n, 17, 1, generator=g) > 0.2).float()
    return images, target, weight, {}


def _ctx(epoch: int = 0, batch: int = 0) -> StepContext:
    device = torch.device("cpu")
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    return StepContext(device, False, scaler, seed=5, epoch=epoch, batch=batch)


def _step(space, random: int = 2, distill: bool = True) -> SandwichStep:
    torch.manual_seed(0)
    return SandwichStep(build_supernet(space), space, random=random, distill=distill, lr=0.01)


def test_a_batch_trains_the_largest_the_smallest_and_seeded_random_subnets(small) -> None:
    step = _step(small, random=3)
    configs = step.subnets(_ctx(2, 7))
    assert configs[:2] == [small.largest(), small.smallest()] and len(configs) == 5
    assert step.subnets(_ctx(2, 7)) == configs  # a resumed batch draws the same
    assert step.subnets(_ctx(2, 8)) != configs


def test_weights_outside_every_active_subnet_stay_bit_identical(small) -> None:
    step = _step(small, random=1)
    ctx, batch = _ctx(), _batch()
    used = {
        name: torch.zeros_like(p, dtype=torch.bool) for name, p in step.supernet.named_parameters()
    }
    for config in step.subnets(ctx):  # which elements does any subnet of the batch touch?
        probe = copy.deepcopy(step.supernet)
        probe.set_active(config)
        probe(batch[0]).square().sum().backward()
        for name, p in probe.named_parameters():
            if p.grad is not None:
                used[name] |= p.grad != 0
    before = {k: v.clone() for k, v in step.supernet.state_dict().items()}
    step.step(batch, ctx)
    after = dict(step.supernet.named_parameters())
    for name, mask in used.items():
        assert torch.equal(after[name].detach()[~mask], before[name][~mask]), name
        assert mask.any() == (not torch.equal(after[name].detach(), before[name])), name
    narrow = small.smallest()["s1.w"]
    assert torch.equal(
        before["net.s1.blocks[0].bn.running_mean"][32:],
        step.supernet.state_dict()["net.s1.blocks[0].bn.running_mean"][32:],
    )
    assert narrow < 32


def test_students_learn_from_the_largest_and_the_ground_truth(small) -> None:
    batch = _batch()
    with_kd, without = _step(small, random=0), _step(small, random=0, distill=False)
    out_kd = with_kd.step(batch, _ctx())
    out_plain = without.step(batch, _ctx())
    assert out_kd["loss"] == out_plain["loss"]  # the teacher's own loss has no KD term
    assert out_kd["loss_smallest"] > out_plain["loss_smallest"]
    criterion = JointsMSELoss()
    torch.manual_seed(0)
    reference = build_supernet(small)
    images, target, weight, _ = batch
    reference.set_active(small.largest())
    teacher = reference(images).detach()
    reference.set_active(small.smallest())
    student = reference(images)
    expected = criterion(student, target, weight) + criterion(student, teacher)
    assert torch.allclose(out_kd["loss_smallest"], expected.detach())


def test_evaluating_a_subnet_leaves_the_supernet_unchanged(small) -> None:
    step = _step(small)
    step.step(_batch(), _ctx())
    before = {k: v.clone() for k, v in step.supernet.state_dict().items()}
    step.supernet.set_active(small.sample(3))
    with kept_bn_statistics(step.supernet):
        recalibrate_bn(step.supernet, [_batch(1)[0], _batch(2)[0]])
        changed = [
            k for k, v in step.supernet.state_dict().items() if not torch.equal(v, before[k])
        ]
        assert any("running_mean" in k for k in changed)
    after = step.supernet.state_dict()
    assert [k for k in before if not torch.equal(before[k], after[k])] == []
