"""Channel, shape and regularisation ops: what they compute against the torch one-liners
they stand for (torch.chunk, ShuffleNet's channel_shuffle, x[:, :, 1:, 1:], DARTS's
strided Zero), their errors, and drop-path's training-only behaviour and schedule."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import archc  # noqa: E402
from archc.kernel.diagnostics import ArchError  # noqa: E402
from archc.runtime.ops import DropPath, set_drop_path_scale  # noqa: E402
from archc.runtime.train.config import TrainConfig, TrainError  # noqa: E402
from archc.runtime.train.schedule import drop_path_scale_at  # noqa: E402
from archc.torch import build_module, build_supernet  # noqa: E402


def net(body: str, size: str = "[12, 8, 6]"):
    text = f"import std\n\nnet t {{\n    input x: {size}\n{body}\n}}\n"
    return build_module(archc.load("t.arch", text)).eval()


def channel_shuffle(x, groups):  # ShuffleNet's reference (mmpose.models.utils)
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w)
    return torch.transpose(x, 1, 2).contiguous().view(n, -1, h, w)


X = torch.randn(2, 12, 8, 6)


def test_split_is_torch_chunk_and_split_sizes_is_torch_split():
    m = net("    let p = split(x, 3)\n    output a = p[0]\n    output b = p[2]")
    out = m(X)
    chunks = X.chunk(3, dim=1)
    assert torch.equal(out["a"], chunks[0]) and torch.equal(out["b"], chunks[2])
    m = net("    let p = split_sizes(x, [2, 7, 3])\n    output a = p[1]\n    output b = p[2]")
    parts = torch.split(X, [2, 7, 3], dim=1)
    assert torch.equal(m(X)["a"], parts[1]) and torch.equal(m(X)["b"], parts[2])


@pytest.mark.parametrize("groups", [2, 3, 4])
def test_shuffle_is_shufflenets_channel_shuffle(groups):
    m = net(f"    output y = x -> shuffle(groups={groups})")
    assert torch.equal(m(X), channel_shuffle(X, groups))


def test_crop_flatten_and_the_strided_zero():
    m = net("    output y = x -> crop(top=1, left=1)")
    assert torch.equal(m(X), X[:, :, 1:, 1:])
    m = net("    output y = x -> crop(top=2, bottom=1, right=3)")
    assert torch.equal(m(X), X[:, :, 2:7, 0:3])
    m = net("    output y = x -> flatten")
    assert torch.equal(m(X), X.reshape(2, -1, 1, 1))
    odd = torch.randn(2, 12, 7, 5)
    m = net("    output y = x -> zero(stride=2)", "[12, 7, 5]")
    assert m(odd).shape == odd[:, :, ::2, ::2].shape and not m(odd).any()


def test_shuffle_unit_keeps_half_and_shuffles():
    m = net("    output y = x -> shuffle_unit(12)")
    y = m(X)
    kept = channel_shuffle(y, 6)  # undo a 2-group shuffle of 12 channels: shuffle with 6
    assert torch.equal(kept[:, :6], X[:, :6])
    m = net("    output y = x -> shuffle_unit(16, stride=2)")
    assert m(X).shape == (2, 16, 4, 3)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "    output y = x -> channel_slice(start=4, stop=13)",
            "channel_slice stops at 13, past the input's 12 channels",
        ),
        (
            "    output y = x -> channel_slice(start=5, stop=5)",
            "channel_slice needs start (5) < stop (5)",
        ),
        (
            "    output y = x -> shuffle(groups=5)",
            "shuffle needs channels (12) divisible by groups (5)",
        ),
        ("    output y = x -> crop(top=4, bottom=4)", "crop leaves no rows of the input's 8"),
        ("    output y = x -> dropout(p=1.0)", "a drop probability must lie in [0, 1), not 1.0"),
        ("    let p = split(x, 5)\n    output y = p[0]", "split needs channels divisible by parts"),
    ],
)
def test_bad_arguments_are_located_errors(body, message):
    text = f"import std\n\nnet t {{\n    input x: [12, 8, 6]\n{body}\n}}\n"
    with pytest.raises(ArchError) as err:
        archc.load("t.arch", text)
    assert message in str(err.value)


def test_an_elastic_split_ratio_slices_the_same_tensor():
    text = """space s {
    input x: [12, 8, 6]
    let cut = choice(4, 6, 8)
    output a = x -> channel_slice(stop=cut) -> conv(5)
    output b = x -> channel_slice(start=cut, stop=12) -> conv(5)
}"""
    space = archc.load("s.arch", text)
    assert space.cost({"cut": 4}).params == 4 * 5 + 8 * 5
    supernet = build_supernet(space).eval()
    for cut in (4, 6, 8):
        supernet.set_active({"cut": cut})
        derived = supernet.derive({"cut": cut}).eval()
        got, want = supernet(X), derived(X)
        torch.testing.assert_close(got["b"], want["b"])


def test_dropout_and_drop_path_act_in_training_only():
    m = net("    output y = x -> dropout(p=0.5) -> drop_path(p=0.5)")
    assert torch.equal(m(X), X)
    m.train()
    torch.manual_seed(0)
    y = torch.ones(64, 4, 2, 2)
    out = DropPath(0.5).train()(y)
    per_sample = out.flatten(1)
    # whole samples are dropped or scaled by 1 / (1 - p), never single elements
    assert set(per_sample.unique().tolist()) <= {0.0, 2.0}
    assert all(len(row.unique()) == 1 for row in per_sample)
    assert 10 < int((per_sample[:, 0] == 0).sum()) < 54


def test_the_supernet_passes_train_and_eval_to_its_shared_regularisers():
    space = archc.load(
        "s.arch",
        "space s {\n    input x: [12, 8, 6]\n"
        "    output y = x -> conv(choice(4, 8)) -> dropout(p=0.9)\n}",
    )
    supernet = build_supernet(space)
    supernet.set_active(space.largest())
    supernet.eval()
    assert torch.equal(supernet(X), supernet(X))
    supernet.train()
    assert not torch.equal(supernet(X), supernet(X))
    assert all(layer.training for layer in supernet.free_layers())


def test_drop_path_schedule_scales_every_rate():
    m = net("    output y = x -> drop_path(p=0.4) -> conv(4) -> drop_path(p=0.2)")
    assert set_drop_path_scale(m, 0.5) == 2
    rates = sorted(layer.p * layer.scale for layer in m.modules() if isinstance(layer, DropPath))
    assert rates == [pytest.approx(0.1), pytest.approx(0.2)]
    with pytest.raises(ValueError, match=r"lies in \[0, 1\], not 1.5"):
        set_drop_path_scale(m, 1.5)
    linear = TrainConfig(data="d", epochs=4, drop_path_schedule="linear")
    assert [drop_path_scale_at(linear, e) for e in range(4)] == [0.0, 0.25, 0.5, 0.75]
    assert drop_path_scale_at(TrainConfig(data="d", epochs=4), 3) == 1.0
    with pytest.raises(TrainError, match="drop_path_schedule must be one of constant, linear"):
        TrainConfig(data="d", drop_path_schedule="cosine")
