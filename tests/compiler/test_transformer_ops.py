"""The transformer ops: hand-computed counts, and a tiny ViT space through the whole
torch path (supernet slice == derived module == ONNX) with AutoFormer's qkv slices."""

from __future__ import annotations

import pytest

from archc.compiler.ops import Rules, get
from archc.kernel.symbolic import ChoiceRef, evaluate

ATTN = {"heads": 3, "head_dim": 64, "qkv_bias": True}


def _cost(op: str, attrs: dict, shape: tuple) -> tuple:
    rule, rules = get(op), Rules(attrs, [shape])
    out = rule.shape(rules)
    assert all(r.cond is True for r in rules.requirements)
    return out, rule.params(rules, out), rule.macs(rules, out), rule.macs_for("hrnet")(rules, out)


def test_attention_counts_depend_on_the_token_count():
    c, n, inner = 192, 197, 3 * 64
    out, params, macs, hrnet = _cost("attention", ATTN, (c, n, 1))
    assert out == (c, n, 1)
    assert params == 3 * inner * c + 3 * inner + inner * c + c
    linear = n * c * 3 * inner + n * inner * c
    assert (macs, hrnet) == (linear + 2 * n * n * inner, linear)
    _, _, macs_map, _ = _cost("attention", ATTN, (c, 14, 14))  # 196 tokens as a map
    assert macs_map == 196 * c * 4 * inner + 2 * 196 * 196 * inner


def test_attention_head_dim_zero_is_channels_over_heads():
    _, params, _, _ = _cost(
        "attention", {"heads": 12, "head_dim": 0, "qkv_bias": False}, (768, 2, 2)
    )
    assert params == 3 * 768 * 768 + 768 * 768 + 768
    rules = Rules({"heads": 5, "head_dim": 0, "qkv_bias": True}, [(768, 2, 2)])
    get("attention").shape(rules)
    assert [r.cond for r in rules.requirements] == [False]


def test_attention_rules_are_symbolic_in_width_and_heads():
    d, h = ChoiceRef("d", "int"), ChoiceRef("h", "int")
    rules = Rules({"heads": h, "head_dim": 64, "qkv_bias": True}, [(d, 197, 1)])
    out = get("attention").shape(rules)
    params = get("attention").params(rules, out)
    assert evaluate(params, {"d": 240, "h": 4}) == 3 * 256 * 240 + 3 * 256 + 256 * 240 + 240


def test_norm_position_and_class_token_counts():
    assert _cost("channel_norm", {"eps": 1e-6}, (768, 16, 12))[:2] == ((768, 16, 12), 1536)
    assert _cost("pos_embed", {"extra": 1}, (768, 16, 12))[1] == 768 * 193
    assert _cost("pos_embed", {"extra": 0}, (192, 197, 1))[1] == 192 * 197
    assert _cost("cls_token", {}, (192, 14, 14))[:2] == ((192, 197, 1), 192)
    assert _cost("take_cls", {}, (192, 197, 1))[:3] == ((192, 1, 1), 0, 0)
    assert _cost("gelu", {}, (8, 2, 2))[1:] == (0, 0, 0)


TINY = """import std

space tiny_vit {
    "A tiny AutoFormer-style space: elastic width, depth, heads and MLP ratio."
    input image: [3, 32, 24]
    let dim = choice(16, 24)
    let depth = choice(1, 2)
    let x = image -> patch_embed(dim, patch=8, padding=2) -> pos_embed(extra=1)
    let x = x -> vit_block(heads=choice(2, 4), head_dim=0)
    let x = x -> cls_token -> pos_embed
    let x = x -> repeat(depth) as blocks {
        vit_block(heads=choice(2, 4), ratio=choice(2.0, 2.5), head_dim=4)
    }
    let x = x -> channel_norm(eps=1e-6) -> activation(fn="gelu")
    output logits = x -> take_cls -> linear(10)
}
"""


@pytest.fixture(scope="module")
def tiny():
    import archc

    return archc.load("tiny_vit.arch", TINY)


@pytest.mark.parametrize("pick", ["largest", "smallest", 0, 1, 2])
def test_supernet_slices_equal_the_derived_module_and_onnx(tiny, pick, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from archc.onnx import export
    from archc.runtime.weights import save_weights
    from archc.torch import build_supernet

    config = tiny.sample(pick) if isinstance(pick, int) else getattr(tiny, pick)()
    torch.manual_seed(0)
    net = build_supernet(tiny).eval()
    net.set_active(config)
    derived = net.derive(config).eval()
    assert sum(p.numel() for p in derived.parameters()) == tiny.cost(config).params
    x = torch.randn(2, 3, 32, 24)
    with torch.no_grad():
        torch.testing.assert_close(net(x), derived(x))
    save_weights(net, tmp_path / "super.safetensors")
    report = export(tiny, tmp_path / "m.onnx", config, weights=tmp_path / "super.safetensors")
    assert report.max_abs_diff < 1e-4


def test_elastic_qkv_takes_autoformers_interleaved_rows_and_leading_bias(tiny):
    torch = pytest.importorskip("torch")
    from archc.torch import build_supernet

    config = {**tiny.largest(), "dim": 16, "blocks[0].vit_block.heads": 2}
    net = build_supernet(tiny)
    derived = net.derive(config)
    path = ("blocks[0]", "vit_block", "attn")
    big, small = net.module_at(path), derived.module_at(path)
    inner, width = 2 * 4, 16
    rows = big.qkv.weight[: 3 * inner, :width]
    for t in range(3):  # q, k, v: rows t, t + 3, t + 6, ... of the largest weight
        assert torch.equal(small.qkv.weight[t * inner : (t + 1) * inner], rows[t::3])
    assert torch.equal(small.qkv.bias, big.qkv.bias[: 3 * inner])
    assert torch.equal(small.proj.weight, big.proj.weight[:width, :inner])
