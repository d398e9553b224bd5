"""The supernet: with a config active it computes exactly what the derived module computes;
weights are shared and sliced; architecture parameters are apart and learn."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import archc  # noqa: E402
from archc.torch import build_supernet  # noqa: E402
from tests.example_spaces import SPACES, heavy_params, input_tensors, space_params  # noqa: E402

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
EXAMPLES = SPACES


@cache
def supernet(path: Path, realise: str | None = "sampled"):
    torch.manual_seed(0)
    space = archc.load(path)
    net = build_supernet(space, {"*": realise} if realise else None).double().eval()
    return space, net


@pytest.mark.parametrize("path", space_params())
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_supernet_with_a_config_equals_its_derived_module(path, seed):
    space, net = supernet(path)
    _assert_equal_to_derived(space, net, space.sample(seed), batch=2)


@pytest.mark.parametrize("path", heavy_params())
def test_the_smallest_subnet_of_a_heavy_space_equals_its_derived_module(path):
    space, net = supernet(path)
    _assert_equal_to_derived(space, net, space.smallest(), batch=1)


def _assert_equal_to_derived(space, net, config, batch: int) -> None:
    net.set_active(config)
    xs = input_tensors(space, batch, torch.float64)
    with torch.no_grad():
        expected = net.derive(config).double().eval()(**xs)
        got = net(**xs)
    if isinstance(got, dict):
        assert all(torch.allclose(got[k], expected[k], atol=1e-6, rtol=0) for k in got)
    else:
        assert torch.allclose(got, expected, atol=1e-6, rtol=0)


def test_parameters_are_partitioned_into_weights_and_architecture():
    path = next(p for p in EXAMPLES if p.name == "darts_cell_demo.arch")
    _, net = supernet(path, None)
    every = {id(p) for p in net.parameters()}
    arch = {id(p) for p in net.arch_parameters()}
    weights = {id(p) for p in net.weight_parameters()}
    assert arch and weights and not arch & weights and arch | weights == every


def test_weighted_choices_give_alpha_gradients_and_a_few_steps_lower_the_loss():
    path = next(p for p in EXAMPLES if p.name == "darts_cell_demo.arch")
    space = archc.load(path)
    torch.manual_seed(0)
    net = build_supernet(space)
    net.set_active(space.default())
    x, target = torch.randn(2, 3, 256, 192), torch.randn(2, 17, 64, 48)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), target)
        loss.backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.arch_parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_a_small_subnet_only_touches_its_slice_of_the_shared_weights():
    path = next(p for p in EXAMPLES if p.name == "vipnas_mbv3.arch")
    space = archc.load(path)
    net = build_supernet(space)
    net.smallest()
    net(torch.randn(1, 3, 256, 192)).sum().backward()
    head = net.module_at(("head", "deconv_head", "deconv_layers", "deconv[0]", "deconv"))
    used = head.weight.grad[:, : 160 // 16]  # smallest head: 160 channels, 16 groups
    assert used.abs().sum() > 0
    assert head.weight.grad[:, 160 // 16 :].abs().sum() == 0


def test_set_active_caches_plans_and_validates():
    path = next(p for p in EXAMPLES if p.name == "mobile_small.arch")
    space, net = supernet(path)
    config = space.sample(3)
    net.set_active(config)
    plan = net._plan
    net.set_active(space.sample(4))
    net.set_active(dict(config))
    assert net._plan is plan
    with pytest.raises(ValueError, match="unknown choice"):
        net.set_active({**config, "nope": 1})


def test_the_supernet_shares_its_spaces_choice_table():
    path = next(p for p in EXAMPLES if p.name == "mobile_small.arch")
    space, net = supernet(path)
    assert net.table is space.table
    config = space.mutate(space.sample(1), seed=2)  # a config made by the Space contract
    net.set_active(config)
    assert net.active == config


def test_recalibrate_bn_computes_exact_batch_statistics():
    from archc.torch import build_module, recalibrate_bn

    text = """net n {
    input image: [3, 8, 8]
    output h = image -> conv(4, bias=true) -> bn
}
"""
    module = build_module(archc.load("n.arch", text)).eval()
    batches = [torch.randn(4, 3, 8, 8) + i for i in range(3)]
    conv = module.module_at(("conv",))
    features = torch.cat([conv(b) for b in batches]).detach()
    assert recalibrate_bn(module, batches) == 3
    bn = module.module_at(("bn",))
    assert torch.allclose(bn.running_mean, features.mean((0, 2, 3)), atol=1e-5)
    assert not module.training
    with pytest.raises(ValueError, match="at least one batch"):
        recalibrate_bn(module, [])


def test_plans_are_kept_for_the_most_recently_used_configs_only():
    from archc.torch import build_supernet

    space = archc.load(Path(__file__).parents[4] / "examples/spaces/mobile_small.arch")
    net = build_supernet(space)
    net.plan_cache_size = 3
    configs = [space.sample(seed) for seed in range(5)]
    for config in configs:
        net.set_active(config)
    assert list(net._plans) == configs[-3:]
    net.set_active(configs[2])  # a hit moves it to the end, evicting nothing
    assert list(net._plans) == [configs[3], configs[4], configs[2]]
    net.set_active(configs[0])  # rebuilt after eviction: the same subnet
    assert list(net._plans) == [configs[4], configs[2], configs[0]]
    x = torch.randn(1, 3, 256, 192)
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(x), net.derive(configs[0]).eval()(x))
