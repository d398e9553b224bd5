"""The transformer examples count what their reference implementations count:
ViTPose-B (github.com/ViTAE-Transformer/ViTPose, vit.py + the simple head) against a
small independent torch re-implementation, counted on the meta device, and computing
the same function as archc's module on a small instance; AutoFormer-T's space
(github.com/microsoft/Cream, AutoFormer/) against its `get_sampled_params_numel`."""

from __future__ import annotations

from pathlib import Path

import pytest

import archc
from archc.compiler.ir import facts

ROOT = Path(__file__).resolve().parents[2] / "examples"
torch = pytest.importorskip("torch")
nn = torch.nn


class RefBlock(nn.Module):
    """ViTPose's Block with its Attention and Mlp (vit.py), written from its code."""

    def __init__(self, dim: int, heads: int, eps: float):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=eps), nn.LayerNorm(dim, eps=eps)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def attn(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        weights = ((q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(b, n, -1))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.norm2(x))))


class RefViTPose(nn.Module):
    def __init__(self, dim=768, depth=12, heads=12, tokens=(16, 12), joints=17):
        super().__init__()
        self.tokens = tokens
        self.patch = nn.Conv2d(3, dim, 16, 16, padding=2)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens[0] * tokens[1] + 1, dim))
        self.blocks = nn.ModuleList(RefBlock(dim, heads, 1e-6) for _ in range(depth))
        self.last_norm = nn.LayerNorm(dim, eps=1e-6)
        layers, cin = [], dim
        for _ in range(2):
            layers += [nn.ConvTranspose2d(cin, 256, 4, 2, 1, 0, bias=False), nn.BatchNorm2d(256)]
            layers += [nn.ReLU()]
            cin = 256
        self.head = nn.Sequential(*layers, nn.Conv2d(256, joints, 1))

    def forward(self, image):
        x = self.patch(image).flatten(2).transpose(1, 2)
        x = x + self.pos_embed[:, 1:] + self.pos_embed[:, :1]
        for block in self.blocks:
            x = block(x)
        x = self.last_norm(x).transpose(1, 2).reshape(x.shape[0], -1, *self.tokens)
        return self.head(x)


def test_vitpose_b_counts_the_reference_parameters():
    space = archc.load(ROOT / "nets/vitpose_b.arch")
    with torch.device("meta"):
        reference = RefViTPose()
    assert sum(p.numel() for p in reference.parameters()) == 89_994_513
    assert space.cost().params == 89_994_513
    assert space.cost_model(scope="backbone")({}).params == 85_794_816
    assert round(space.cost_model(scope="backbone")({}).macs / 1e8) == 171  # "17.1 GFLOPs"
    (out,) = facts(space.graph).outputs.values()
    assert space.graph.nodes[out]["ir"].shape == (17, 64, 48)


SMALL = {"DIM": "32", "DEPTH": "2", "HEADS": "4", "INPUT": "[3, 64, 48]"}


def _copy_reference(reference: RefViTPose, module) -> None:
    """The reference's weights into archc's ViTPose (timm's names, archc's layouts)."""
    net = module.net
    with torch.no_grad():
        net["backbone"]["pos_embed"].weight.copy_(reference.pos_embed[0].T)
        for i, block in enumerate(reference.blocks):
            mine = net["backbone"]["vit"][f"blocks[{i}]"]["vit_block"]
            for name in ("norm1", "norm2", "attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"):
                ref = getattr(block, name.split(".")[-1])
                target = _at(mine, name)
                target.weight.copy_(ref.weight.reshape(target.weight.shape))
                target.bias.copy_(ref.bias)
        _at(net["backbone"], "patch_embed.proj").load_state_dict(reference.patch.state_dict())
        _at(net["backbone"]["vit"], "last_norm").load_state_dict(reference.last_norm.state_dict())
        head = [m for m in reference.head if not isinstance(m, nn.ReLU)]
        deconv = net["head"]["deconv_layers"]
        targets = [_at(deconv, f"deconv[{i}].{op}") for i in range(2) for op in ("deconv", "bn")]
        for target, ref in zip([*targets, net["head"]["final"]], head, strict=True):
            target.load_state_dict(ref.state_dict())


def _at(root, dotted: str):
    for segment in dotted.split("."):
        root = root[segment] if isinstance(root, nn.ModuleDict) else getattr(root, segment)
    return root


def test_a_small_vitpose_computes_what_the_reference_computes():
    from archc.cli.common import load_space
    from archc.torch import build_module

    defines = [f"{k}={v}" for k, v in SMALL.items()]
    space = load_space(str(ROOT / "nets/vitpose_b.arch"), defines)
    torch.manual_seed(0)
    reference = RefViTPose(dim=32, depth=2, heads=4, tokens=(4, 3)).eval()
    module = build_module(space).eval()
    assert sum(p.numel() for p in module.parameters()) == sum(
        p.numel() for p in reference.parameters()
    )
    _copy_reference(reference, module)
    image = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        torch.testing.assert_close(module(image), reference(image), rtol=1e-4, atol=1e-5)


def autoformer_params(embed: int, heads: list[int], ratios: list[float], rpe: bool = False):
    """AutoFormer's `get_sampled_params_numel` for a 224x224, patch-16, 1000-class
    subnet with `--change_qkv` (head width 64), written from supernet_transformer.py:
    every `calc_sampled_param_num` (patch embed, per block two LayerNorms, qkv, proj,
    fc1, fc2 and, with `--relative_position`, 2 x 2 tables of 2 * 14 + 2 rows), the
    last norm, the head, plus embed * (2 + num_patches) for the class token and the
    197-slot position embedding."""
    total = 3 * 16 * 16 * embed + embed + 2 * embed + embed * 1000 + 1000 + embed * (2 + 196)
    for h, r in zip(heads, ratios, strict=True):
        inner, hidden = 64 * h, int(embed * r)
        total += 4 * embed + 3 * inner * embed + 3 * inner + inner * embed + embed
        total += 2 * embed * hidden + hidden + embed + (4 * 30 * 64 if rpe else 0)
    return total


def _autoformer_config(embed: int, heads: list[int], ratios: list[float]) -> dict:
    config = {"dim": embed, "depth": len(heads)}
    for i in range(14):
        config[f"blocks[{i}].vit_block.heads"] = heads[i] if i < len(heads) else 3
        config[f"blocks[{i}].vit_block.ratio"] = ratios[i] if i < len(ratios) else 3.5
    return config


@pytest.mark.parametrize(
    "embed, heads, ratios, published",
    [
        (192, [3] * 12, [3.5] * 12, 5_273_896),  # the smallest subnet
        (240, [4] * 14, [4.0] * 14, 10_409_752),  # the largest subnet
        (216, [3, 4] * 6 + [4], [4.0, 3.5] * 6 + [3.5], None),
    ],
)
def test_autoformer_tiny_counts_what_autoformer_counts(embed, heads, ratios, published):
    space = archc.load(ROOT / "spaces/autoformer_tiny.arch")
    expected = autoformer_params(embed, heads, ratios)
    assert published in (None, expected)
    assert space.cost(_autoformer_config(embed, heads, ratios)).params == expected


def test_autoformer_tiny_ends_and_the_retrained_autoformer_t():
    space = archc.load(ROOT / "spaces/autoformer_tiny.arch")
    assert space.cost(space.smallest()).params == 5_273_896
    assert space.cost(space.largest()).params == 10_409_752
    # experiments/subnet/AutoFormer-T.yaml: depth 13, embed 192, ratios partly 3.0
    ratios = [3.5, 3.5, 3.0, 3.5, 3.0, 3.0, 4.0, 4.0, 3.5, 4.0, 3.5, 4.0, 3.5]
    heads = [3] * 10 + [4, 3, 3]
    assert autoformer_params(192, heads, ratios) == 5_768_104  # README: 5.8M
    assert autoformer_params(192, heads, ratios, rpe=True) == 5_867_944
