"""BatchNorm recalibration of a supernet with a config active gives every BatchNorm the
statistics of the derived subnet recalibrated on the same batches: what shared-weight
evaluation (one-shot search, REINFORCE rewards) stands on. Before the cumulative
momentum was honoured by the elastic BatchNorm, the statistics stayed at their reset
values (mean 0, variance 1) however many batches were seen."""

from __future__ import annotations

from functools import cache

import pytest

torch = pytest.importorskip("torch")

import archc  # noqa: E402
from archc.torch import build_supernet, recalibrate_bn  # noqa: E402
from tests.example_spaces import input_tensors, space_params  # noqa: E402


@cache
def _load(path):
    return archc.load(path)


def _batches(space, count: int = 3) -> list[tuple]:
    torch.manual_seed(1)
    return [
        tuple(t * (1 + i) + 2.0 for t in input_tensors(space, 2, torch.float64).values())
        for i in range(count)
    ]


def _bn_stats(module) -> dict[str, torch.Tensor]:
    return {
        k: v for k, v in module.state_dict().items() if k.endswith(("running_mean", "running_var"))
    }


@pytest.mark.parametrize(
    "path",
    space_params(fast=("mobile_small", "darts_cell_demo", "hrnet_branches", "efficientpose")),
)
@pytest.mark.parametrize("pick", ["largest", "smallest", "sampled"])
def test_supernet_recalibration_equals_the_derived_subnets(path, pick):
    if path.stem in ("vipnas_temporal", "tiny_temporal") and pick == "sampled":
        pytest.xfail(
            "frames sharing weights but choosing different widths: the derived net gives "
            "each frame its own BatchNorm, the supernet's one BatchNorm mixes the frames "
            "(documented in runtime/recalibrate.py)"
        )
    space = _load(path)
    config = space.sample(5) if pick == "sampled" else getattr(space, pick)()
    net = build_supernet(space, {"*": "sampled"}).double().eval()
    net.set_active(config)
    batches = _batches(space)
    alone = net.derive(config).double()
    recalibrate_bn(alone, batches)
    recalibrate_bn(net, batches)
    expected, got = _bn_stats(alone), _bn_stats(net.derive(config).double())
    if not expected:
        assert not got
        pytest.skip(f"{path.stem} has no BatchNorm (LayerNorm only: nothing to recalibrate)")
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, atol=1e-5, rtol=1e-5, msg=name)
    assert any(v.abs().max() > 0.5 for k, v in got.items() if k.endswith("running_mean"))
