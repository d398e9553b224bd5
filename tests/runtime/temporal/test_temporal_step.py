"""Multi-frame sandwich training (ViPNAS 3.4.2): which subnets a batch trains, the loss
as a sum of per-frame MSEs with the largest's maps as soft labels, a frozen key net,
and validation of the clip model."""

from __future__ import annotations

import pytest
import torch

import archc
from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.temporal.contract import propagate, temporal_contract
from archc.runtime.temporal.keynet import KeyNet
from archc.runtime.temporal.step import TemporalSandwichStep, temporal_choices
from archc.runtime.train import TrainError
from archc.runtime.train.step import StepContext
from archc.runtime.weights import save_weights
from archc.torch import build_module, build_supernet
from tests.runtime.temporal.temporal_fixtures import KEY_NET, temporal_space


@pytest.fixture(scope="module")
def space():
    return temporal_space(2)


@pytest.fixture(scope="module")
def key_net(tmp_path_factory) -> KeyNet:
    fixed = archc.load(KEY_NET)
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("key") / "key.safetensors"
    save_weights(build_module(fixed), path, {"format": "test"})
    return KeyNet.build(fixed, path)


def _ctx(epoch: int = 0, batch: int = 0) -> StepContext:
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    return StepContext(torch.device("cpu"), False, scaler, seed=5, epoch=epoch, batch=batch)


def _step(space, key_net, **options) -> TemporalSandwichStep:
    torch.manual_seed(0)
    chosen = temporal_choices(space, None)
    return TemporalSandwichStep(
        build_supernet(space),
        space,
        temporal_contract(space),
        key_net,
        temporal=chosen,
        lr=0.01,
        **options,
    )


def _clips(n: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    clips = torch.randn(n, 3, 3, 64, 48, generator=g)
    target = torch.rand(n, 3, 17, 16, 12, generator=g)
    weight = (torch.rand(n, 3, 17, 1, generator=g) > 0.2).float()
    return clips, target, weight, {}


def test_the_temporal_choices_are_named_by_their_last_part(space) -> None:
    chosen = temporal_choices(space, None)
    assert sorted(chosen) == sorted(
        f"frame[{t}].t_net.{c}" for t in (1, 2) for c in ("fuse_at", "fuse_op")
    )
    assert temporal_choices(space, ["frame[2].t_net.fuse_op"]) == ("frame[2].t_net.fuse_op",)
    with pytest.raises(TrainError, match=r"fuse_where names no choice.*fuse_at"):
        temporal_choices(space, ["fuse_where"])


def test_the_ends_are_spatially_largest_and_smallest_with_random_fusion(space, key_net):
    step = _step(space, key_net, random=2)
    temporal = set(step.temporal)
    draws = [step.subnets(_ctx(0, b)) for b in range(12)]
    for configs in draws:
        assert len(configs) == 4
        for got, end in ((configs[0], space.largest()), (configs[1], space.smallest())):
            assert {k: v for k, v in got.items() if k not in temporal} == {
                k: v for k, v in end.items() if k not in temporal
            }
    fusions = {tuple(c[0][n] for n in step.temporal) for c in draws}
    assert len(fusions) > 3  # the largest's fusion is drawn, not fixed
    assert step.subnets(_ctx(0, 4)) == draws[4]  # a resumed batch draws the same


def test_the_loss_sums_one_mse_per_frame_with_the_largest_as_soft_labels(space, key_net):
    step = _step(space, key_net, random=0)
    clips, target, weight, _ = _clips()
    configs = step.subnets(_ctx())
    mse = JointsMSELoss(use_target_weight=True)
    expected, teacher = [], None
    with torch.no_grad():
        key = key_net(clips[:, 0])
        for config in configs:
            step.supernet.set_active(config)
            out = propagate(step.supernet, step.contract, key, clips[:, 1:])
            loss = sum(mse(out[:, t], target[:, t + 1], weight[:, t + 1]) for t in range(2))
            if teacher is not None:
                loss = loss + sum(mse(out[:, t], teacher[:, t]) for t in range(2))
            expected.append(float(loss))
            teacher = out if teacher is None else teacher
    got = step.step((clips, target, weight, {}), _ctx())
    assert float(got["loss"]) == pytest.approx(expected[0], rel=1e-5)
    assert float(got["loss_smallest"]) == pytest.approx(expected[1], rel=1e-5)


def test_a_step_trains_the_supernet_and_never_the_key_net(space, key_net) -> None:
    step = _step(space, key_net)
    key_before = {k: v.clone() for k, v in key_net.module.state_dict().items()}
    before = {k: v.clone() for k, v in step.supernet.state_dict().items()}
    step.step(_clips(), _ctx())
    after = step.supernet.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for name, value in key_net.module.state_dict().items():
        assert torch.equal(value, key_before[name]), name  # BN statistics included
    assert all(p.grad is None for p in key_net.module.parameters())


def test_a_key_net_of_another_size_is_refused_with_both_sizes(space, tmp_path) -> None:
    small = archc.load(KEY_NET, defines={"INPUT": [3, 128, 96]})
    path = tmp_path / "k.safetensors"
    save_weights(build_module(small), path, {"format": "test"})
    key = KeyNet.build(small, path)
    with pytest.raises(TrainError, match=r"128x96 crops .* but .* 64x48 crops"):
        key.check_fits(temporal_contract(space).geometry)


def test_key_net_weights_of_another_net_are_refused(space, tmp_path) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(build_supernet(space), path, {"format": "test"})
    with pytest.raises(TrainError, match="do not fit `tiny_key`"):
        KeyNet.build(archc.load(KEY_NET), path)
