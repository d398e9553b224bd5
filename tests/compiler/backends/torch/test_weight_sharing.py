"""Scopes that share weights while choosing separately (ViPNAS temporal frames): for
every config of a small two-frame space, the derived module gives a diverging sharer a
module of its own with weights sliced from the shared supernet tensor, computes what the
supernet computes, and holds exactly the params the cost model counts; ONNX export of a
diverging config matches torch."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import archc  # noqa: E402
from archc.compiler.cost.count import count_cost  # noqa: E402
from archc.torch import build_supernet  # noqa: E402
from tests.example_spaces import input_tensors  # noqa: E402

TWO_FRAMES = """import std
block frame_net(x: tensor, prev: tensor) -> tensor {
    "A frame: features of its own width and kernel, fused with the previous heatmaps."
    let w = choice(8, 16)
    let k = choice(1, 3)
    let fuse = choice("add", "cat")
    let y = x -> conv(w, k=k, stride=2) -> bn -> relu
    return (cat([y, prev]) -> conv(4) as cat_conv) if fuse == "cat"
        else (y -> conv(4) as add_conv) + prev
}

space two_frames {
    "Two frames, the second sharing the first's weights."
    input f1: [3, 16, 16]
    input f2: [3, 16, 16]
    input h0: [4, 8, 8]
    scope a {
        let h1 = f1 -> frame_net(h0)
    }
    scope b shares weights with a {
        let h2 = f2 -> frame_net(h1)
    }
    output o1 = h1
    output o2 = h2
}
"""


@pytest.fixture(scope="module")
def space():
    return archc.load("two_frames.arch", TWO_FRAMES)


@pytest.fixture
def float64():
    """Derived modules are built in the default dtype: float64 makes equality exact."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def supernet(space, float64):
    torch.manual_seed(0)
    net = build_supernet(space).eval()
    with torch.no_grad():  # BN statistics that are not the identity
        for m in net.modules():
            if isinstance(getattr(m, "running_var", None), torch.Tensor):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net


def all_configs(space):
    return list(space.table.configs())


def test_every_config_derives_the_supernets_function_and_counted_params(space, supernet):
    torch.manual_seed(1)
    xs = input_tensors(space, batch=2)
    configs = all_configs(space)
    assert len(configs) == 64
    diverged = 0
    for config in configs:
        supernet.set_active(config)
        with torch.no_grad():
            expected = supernet(**xs)
            module = supernet.derive(config).eval()
            got = module(**xs)
        for name in ("o1", "o2"):
            torch.testing.assert_close(got[name], expected[name], rtol=0, atol=1e-12)
        params = sum(p.numel() for p in module.parameters())
        assert params == space.cost(config).params == count_cost(space.graph, config).params
        diverged += bool(module.weight_sources)
    assert 0 < diverged < len(configs)


def test_a_diverging_sharer_gets_a_slice_of_the_shared_tensor(space, supernet):
    config = {
        "a.frame_net.w": 16,
        "a.frame_net.k": 3,
        "a.frame_net.fuse": "add",
        "b.frame_net.w": 8,
        "b.frame_net.k": 3,
        "b.frame_net.fuse": "add",
    }
    module = supernet.derive(config)
    own = module.module_at(("b", "frame_net", "conv"))
    shared = module.module_at(("a", "frame_net", "conv"))
    assert own is not shared and own.weight.shape == (8, 3, 3, 3)
    full = supernet.module_at(("a", "frame_net", "conv")).weight
    assert torch.equal(own.weight, full[:8])
    # b's add_conv reads 8 channels where a's reads 16: its own module too; a's fusion
    # output conv is not reached by b at all in this config
    assert module.module_at(("b", "frame_net", "add_conv")).weight.shape == (4, 8, 1, 1)


def test_agreeing_frames_share_one_module_and_count_once(space, supernet):
    frame = {"w": 16, "k": 3, "fuse": "cat"}
    config = {f"{s}.frame_net.{k}": v for s in "ab" for k, v in frame.items()}
    module = supernet.derive(config)
    assert module.weight_sources == {}
    assert not [name for name in module.state_dict() if name.startswith("net.b.")]
    one_frame = space.cost_model(scope="a")(config).params
    assert space.cost(config).params == one_frame == sum(p.numel() for p in module.parameters())


def test_onnx_export_of_frames_that_choose_differently(space, tmp_path):
    pytest.importorskip("onnxruntime")
    from archc.onnx import export

    config = {
        "a.frame_net.w": 16,
        "a.frame_net.k": 1,
        "a.frame_net.fuse": "cat",
        "b.frame_net.w": 8,
        "b.frame_net.k": 3,
        "b.frame_net.fuse": "add",
    }
    report = export(space, tmp_path / "frames.onnx", config)
    assert report.max_abs_diff <= 1e-5
    assert (tmp_path / "frames.onnx").stat().st_size > 0


def test_the_rule_is_the_same_for_derive_count_and_model(space):
    """Exhaustive over the 64 configs: model == reference walk == derived count."""
    model = space.cost_model()
    for config in all_configs(space):
        assert model(config) == count_cost(space.graph, config) == space.derive(config).cost()
