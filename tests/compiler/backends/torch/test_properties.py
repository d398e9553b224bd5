"""Properties of the torch backend over every example space, for random configs:
the analytic cost (one by one and batched) equals what the derived module holds and
computes (params by `numel`, MACs by forward hooks, FlopCounterMode on conv and matmul),
and a sandwich-rule training step touches only the weights of the active subnets."""

from __future__ import annotations

import itertools
import warnings
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archc  # noqa: E402
from archc.torch import GumbelTemperature, build_module, build_supernet  # noqa: E402
from tests.compiler.backends.torch.counting import hook_macs  # noqa: E402
from tests.example_spaces import SPACES, heavy_params, input_tensors, space_params  # noqa: E402

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


@cache
def load(path: Path):
    return archc.load(path)


def _input(space, batch: int = 1, dtype=torch.float32):
    (x,) = input_tensors(space, batch, dtype).values()
    return x


@pytest.mark.parametrize("path", space_params())
@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_analytic_cost_equals_the_counted_cost_of_the_derived_module(path, seed):
    space = load(path)
    _assert_counts(space, space.sample(seed))


@pytest.mark.parametrize("path", heavy_params())
def test_analytic_cost_of_the_smallest_subnet_of_a_heavy_space(path):
    space = load(path)
    _assert_counts(space, space.smallest())


def _assert_counts(space, config) -> None:
    module = build_module(space.derive(config)).eval()
    cost = space.cost(config)
    assert space.cost_many([config])[0] == cost  # batched == one by one == the module
    assert sum(p.numel() for p in module.parameters()) == cost.params
    xs = input_tensors(space)
    assert hook_macs(module, **xs) == cost.macs
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(**xs)
    assert counter.get_total_flops() == 2 * cost.macs


def _sandwich(space, seed: int):
    return [space.largest(), space.smallest(), space.sample(seed), space.sample(seed + 1)]


# elastic widths and kernels, mixed cells, branches: the rest (up to 17 s each) run slow
@pytest.mark.parametrize(
    "path", space_params(fast=("mobile_small", "darts_cell_demo", "hrnet_branches"))
)
def test_a_sandwich_step_touches_exactly_the_weights_of_each_active_subnet(path):
    """Per config, every weight's gradient in the supernet has the same total as in the
    derived module: nothing outside the active slices receives a gradient."""
    space = load(path)
    torch.manual_seed(0)
    net = build_supernet(space, {"*": "sampled"}).double()
    xs = input_tensors(space, 2, torch.float64)
    for config in _sandwich(space, 11):
        net.zero_grad(set_to_none=True)
        net.set_active(config)
        _output_sum(net(**xs)).backward()
        derived = net.derive(config).double()
        derived.train()
        _output_sum(derived(**xs)).backward()
        for name, p in net.named_parameters():
            want, signed = _expected_gradient(derived, name)
            grad = p.grad if p.grad is not None else torch.zeros(())
            got = (grad.sum() if signed else grad.abs().sum()).item()
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), name


def _expected_gradient(derived, name: str) -> tuple[float, bool]:
    """The derived module's gradient total for supernet parameter `name`: |grad| summed,
    or, when diverging weight sharers also slice it (`weight_sources`), the signed sum
    over every module that uses it (slices of one tensor add up; their |.| do not)."""
    grads = dict(derived.named_parameters())
    users = [grads[name]] if name in grads else []
    for path, source in derived.weight_sources.items():
        prefix, param = "net." + ".".join(source) + ".", name.rsplit(".", 1)[-1]
        if name == prefix + param:
            users.append(grads["net." + ".".join(path) + "." + param])
    signed = len(users) > 1 or (bool(users) and name not in grads)  # unused: |grad| must be 0
    total = sum(
        (u.grad.sum() if signed else u.grad.abs().sum()).item() for u in users if u.grad is not None
    )
    return total, signed


def _output_sum(out):
    return (
        sum(v.square().sum() for v in out.values()) if isinstance(out, dict) else out.square().sum()
    )


def test_a_sandwich_step_leaves_weights_and_statistics_no_subnet_uses_unchanged():
    space = load(next(p for p in SPACES if p.name == "mobile_small.arch"))
    torch.manual_seed(0)
    net = build_supernet(space).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    opt.zero_grad()
    x = _input(space, 2)
    smallest = space.smallest()
    net.set_active(smallest)
    net(x).mean().backward()
    opt.step()
    derived = net.derive(smallest)
    used = {k for k in derived.state_dict() if "num_batches" not in k}
    for key, value in net.state_dict().items():
        if key in used or "num_batches" in key:
            continue
        assert torch.equal(value, before[key]), f"{key} changed but no active op uses it"
    bn = net.module_at(("s1", "blocks[0]", "mbconv", "bn_2"))  # the projection BN
    width = smallest["s1.w"]
    assert not torch.equal(
        bn.running_mean[:width], before[_key_of(net, bn, "running_mean")][:width]
    )
    assert torch.equal(bn.running_mean[width:], before[_key_of(net, bn, "running_mean")][width:])


def _key_of(net, module, attr: str) -> str:
    return next(f"{name}.{attr}" for name, m in net.named_modules() if m is module)


def test_argmax_derivation_takes_the_strongest_candidate_of_each_weighted_choice():
    space = load(next(p for p in SPACES if p.name == "darts_cell_demo.arch"))
    net = build_supernet(space)
    assert net.labels, "the DARTS demo space has weighted choices"
    strongest = {}
    with torch.no_grad():
        for choice, labels in net.labels.items():
            pick = len(labels) - 1
            net.arch[choice.replace(".", "/")][pick] = 3.0
            strongest[choice] = labels[pick]
    config = net.argmax_config(space.default())
    assert all(config[c] == label for c, label in strongest.items())
    module = net.derive(space.default(), argmax=True)
    assert sum(p.numel() for p in module.parameters()) == space.cost(config).params
    with pytest.raises(ValueError, match="needs a config"):
        build_supernet(space).derive()


def test_gumbel_temperature_anneals_and_rejects_nonsense():
    schedule = GumbelTemperature(start=5.0, end=0.5, steps=100)
    taus = [schedule(s) for s in range(0, 201, 10)]
    assert taus[0] == 5.0 and taus[-1] == pytest.approx(0.5)
    assert all(a > b for a, b in itertools.pairwise(taus[:11]))
    assert GumbelTemperature(2.0, 1.0, 10, "linear")(5) == pytest.approx(1.5)
    assert GumbelTemperature(2.0, 1.0, 10, "cosine")(5) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="unknown temperature schedule"):
        GumbelTemperature(kind="warm")
    with pytest.raises(ValueError, match="positive"):
        GumbelTemperature(start=0.0)


def test_gumbel_choices_sample_in_training_and_use_the_softmax_in_eval():
    space = load(next(p for p in SPACES if p.name == "darts_cell_demo.arch"))
    torch.manual_seed(0)
    net = build_supernet(space, {"*": "gumbel"})
    net.set_active(space.default())
    GumbelTemperature(1.0, 0.1, 10).apply(net, 10)
    assert net.tau == pytest.approx(0.1)
    x = _input(space)
    with torch.no_grad():
        net.eval()
        assert torch.equal(net(x), net(x))
        net.train()
        assert not torch.equal(net(x), net(x))
