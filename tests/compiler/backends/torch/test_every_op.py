"""Every op of the registry, elastic where it has sizes, through the whole torch path:
build the supernet, activate a config, derive the subnet with the supernet's weights,
compare the two, and export the derived subnet to ONNX with those weights. A new op
must be added to SPACE below (the first test fails until it is): `derive` once
crashed on every space with a `linear`, because no test derived one."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import archc  # noqa: E402
from archc.compiler.ops import all_ops  # noqa: E402
from archc.onnx import export  # noqa: E402
from archc.runtime.weights import save_weights  # noqa: E402
from archc.torch import build_supernet  # noqa: E402

SPACE = """space every_op {
    input image: [3, 32, 24]
    let w = choice(8, 16)
    let k = choice(1, 3)
    let x = image -> conv(w, k=k, bias=true) -> bn -> relu
    let x = x -> conv(16, k=3, groups=choice(1, 2)) -> bn(affine=false) -> relu6
    let x = x -> maxpool(k=3, stride=2) -> hswish -> avgpool(k=3) -> swish
    let x = x -> deconv(w, k=4, stride=2) -> sigmoid -> hsigmoid(bias=1.0, divisor=2.0)
    let x = x -> activation(fn=choice("relu", "hswish")) -> layernorm
    let x = x -> channel_norm -> gelu -> pos_embed(extra=1)
    let x = x -> attention(choice(1, 2), head_dim=choice(0, 4), qkv_bias=false)
    let up = x -> maxpool(k=2, stride=2, padding=0) -> upsample(factor=2, mode="bilinear")
    let pooled = attention_pool(x, x -> conv(1))
    let scaled = mul([x, pooled -> conv(w) -> sigmoid])
    let y = add([scaled, up -> resize_like(x)]) -> skip
    let z = cat([y, y -> oneof(skip, zero) as edge])
    let heads = z -> conv(16, bias=true) -> squash(dim=8) -> scatter([0, 2], 4)
    let logits = z -> global_avgpool -> linear(choice(5, 10))
    let part = z -> channel_slice(start=choice(0, 4), stop=choice(8, 16)) as part
    let part = part -> shuffle(groups=2) -> dropout(p=0.1) -> drop_path(p=0.2)
    let shifted = cat([part -> crop(top=1, left=1), part -> crop(bottom=1, right=1)])
    let flat = shifted -> zero(stride=2) -> flatten
    let logits = logits -> cls_token -> take_cls
    output maps = heads
    output scores = logits
    output parts = add([flat -> linear(3), shifted -> global_avgpool -> conv(3)])
}
"""


def test_the_space_uses_every_op_of_the_registry():
    graph = archc.load("every_op.arch", SPACE).graph
    used = {graph.nodes[n]["ir"].op for n in graph.nodes} - {None}
    assert set(all_ops()) - used == set()


@pytest.mark.parametrize("pick", ["largest", "smallest", 0, 1, 2])
def test_every_op_derives_equal_to_the_supernet_and_exports(pick, tmp_path):
    space = archc.load("every_op.arch", SPACE)
    config = space.sample(pick) if isinstance(pick, int) else getattr(space, pick)()
    torch.manual_seed(0)
    net = build_supernet(space, {"*": "sampled"}).eval()
    net.set_active(config)
    derived = net.derive(config).eval()
    x = torch.randn(2, 3, 32, 24)
    with torch.no_grad():
        got, expected = net(x), derived(x)
    assert set(got) == set(expected) == {"maps", "scores", "parts"}
    for name in got:
        torch.testing.assert_close(got[name], expected[name], msg=name)
    save_weights(net, tmp_path / "super.safetensors")
    report = export(space, tmp_path / "m.onnx", config, weights=tmp_path / "super.safetensors")
    assert report.max_abs_diff < 1e-4
