"""The PoseNFS fabric blocks of std/cells.arch (nfs_layer_cells, nfs_fabric_cell, nfs_layer,
vector_head, nfs_part), one test per block, in the style of test_std_blocks.py."""

from __future__ import annotations

from tests.grammars.std.test_std_blocks import elaborate, errors, node, ops, output, under

OPS = "zero, skip, dil_conv_3x3, sep_conv_3x3"
WIDTHS = "[16, 32, 64, 128]"


def alpha(nodes: int = 1, name: str = "alpha") -> str:
    return (
        f"    let {name} = [oneof({OPS}, realise=weighted) as {name}[j, t]\n"
        f"                 for t in range({nodes}) for j in range(1 + t)]\n"
    )


PYRAMID = (
    "    let f0 = image -> conv(16, k=3, stride=4)\n"
    "    let f1 = f0 -> conv(32, k=3, stride=2)\n"
    "    let f2 = f1 -> conv(64, k=3, stride=2)\n"
    "    let f3 = f2 -> conv(128, k=3, stride=2)\n"
)


def test_nfs_layer_cells():
    s = elaborate(
        "    assert nfs_layer_cells(6) == [2, 3, 4, 3, 2, 1]\n"
        "    assert nfs_layer_cells(8) == [2, 3, 4, 4, 4, 3, 2, 1]\n"
        "    assert nfs_layer_cells(4, scales=3) == [2, 3, 2, 1]\n"
        "    output h = image -> conv(8)"
    )
    assert ops(s) == ["conv"]


def test_nfs_fabric_cell():
    # the 1/4 cell: no finer input, so slot 1 is the same-scale input again
    s = elaborate(
        alpha() + PYRAMID + f"    output h = nfs_fabric_cell([f0, f1, f2], alpha, {WIDTHS}, 0)",
        net=False,
    )
    beta = node(s, "nfs_fabric_cell.beta")
    assert beta.kind == "choose" and beta.attrs["realise"] == "weighted"
    coarser = node(s, "nfs_fabric_cell.coarser.bn")  # from_coarser: 1x1 conv + BN + x2
    up = node(s, "nfs_fabric_cell.coarser.upsample")
    assert beta.inputs == (node(s, "conv").id, node(s, "conv").id, up.id)
    assert up.inputs == (coarser.id,) and up.attrs["mode"] == "bilinear"
    assert s.choice("nfs_fabric_cell.beta").kind == "input"
    project = output(s)
    assert project.name == "nfs_fabric_cell.cell.darts_cell.project"
    assert project.attrs["out"] == 16 and project.attrs["bias"] is True
    assert [n.attrs["choice"] for n in under(s, "nfs_fabric_cell", kind="choose")] == [
        "nfs_fabric_cell.beta",
        "alpha[0,0]",
    ]

    # a middle cell: finer (3x3 stride 2 with bias + BN), same, coarser
    s = elaborate(
        alpha() + PYRAMID + f"    output h = nfs_fabric_cell([f0, f1, f2], alpha, {WIDTHS}, 1)",
        net=False,
    )
    finer = node(s, "nfs_fabric_cell.finer.conv")
    assert (finer.attrs["k"], finer.attrs["stride"], finer.attrs["bias"], finer.attrs["out"]) == (
        3,
        2,
        True,
        32,
    )
    beta = node(s, "nfs_fabric_cell.beta")
    assert beta.inputs == (
        node(s, "conv_1").id,
        node(s, "nfs_fabric_cell.finer.bn").id,
        node(s, "nfs_fabric_cell.coarser.upsample").id,
    )
    assert output(s).attrs["out"] == 32

    # the previous layer's last scale: no coarser input, slot 2 repeats the same scale
    s = elaborate(
        alpha() + PYRAMID + f"    output h = nfs_fabric_cell([f0, f1, f2], alpha, {WIDTHS}, 2)",
        net=False,
    )
    beta = node(s, "nfs_fabric_cell.beta")
    assert beta.inputs == (
        node(s, "conv_2").id,
        node(s, "nfs_fabric_cell.finer.bn").id,
        node(s, "conv_2").id,
    )

    # below the previous layer's last cell, the same-scale input comes from one scale finer
    s = elaborate(
        alpha() + PYRAMID + f"    output h = nfs_fabric_cell([f0, f1], alpha, {WIDTHS}, 2)",
        net=False,
    )
    same, finer = node(s, "nfs_fabric_cell.same.bn"), node(s, "nfs_fabric_cell.finer.bn")
    assert node(s, "nfs_fabric_cell.beta").inputs == (same.id, finer.id, same.id)
    assert output(s).attrs["out"] == 64


def test_nfs_layer():
    s = elaborate(
        alpha(2)
        + PYRAMID
        + f"    let ys = nfs_layer([f0, f1, f2, f3], alpha, {WIDTHS}, 3, nodes=2)\n"
        "    output h = ys[0]\n    output h1 = ys[1]\n    output h2 = ys[2]",
        net=False,
    )
    assert [c.name for c in s.choices] == ["alpha[0,0]", "alpha[0,1]", "alpha[1,1]"] + [
        f"nfs_layer.cell[{i}].beta" for i in range(3)
    ]
    assert [output(s, h).name for h in ("h", "h1", "h2")] == [
        f"nfs_layer.cell[{i}].cell.darts_cell.project" for i in range(3)
    ]
    assert [output(s, h).attrs["out"] for h in ("h", "h1", "h2")] == [16, 32, 64]
    # every cell decides alpha[0,0] with its own candidate ops (own weights, one decision)
    sep = [n for n in s.nodes if n.op == "conv" and ".alpha[0,0].sep_conv_3x3." in n.name]
    assert len({n.name.split(".")[1] for n in sep}) == 3
    assert all(
        n.attrs["choice"].startswith(("alpha", "nfs_layer")) for n in s.nodes if n.kind == "choose"
    )


def test_vector_head():
    s = elaborate("    output h = image -> conv(16) -> vector_head(5, dim=4)")
    assert ops(s, "vector_head") == ["relu", "conv", "squash"]
    final = node(s, "vector_head.final")
    assert (final.attrs["out"], final.attrs["bias"]) == (20, True)
    assert output(s).op == "squash" and output(s).attrs["dim"] == 4


def test_nfs_part():
    s = elaborate(
        alpha() + PYRAMID + f"    output h = nfs_part([f0, f1, f2, f3], alpha, {WIDTHS}, [7, 9])",
        net=False,
    )
    # layers 3, 4, 5 of a 6-layer fabric: 3 + 2 + 1 cells, one beta each
    betas = [c.name for c in s.choices if c.name.endswith(".beta")]
    assert betas == [
        "nfs_part.layer[0].nfs_layer.cell[0].beta",
        "nfs_part.layer[0].nfs_layer.cell[1].beta",
        "nfs_part.layer[0].nfs_layer.cell[2].beta",
        "nfs_part.layer[1].nfs_layer.cell[0].beta",
        "nfs_part.layer[1].nfs_layer.cell[1].beta",
        "nfs_part.layer[2].nfs_layer.cell[0].beta",
    ]
    reduce = [node(s, f"nfs_part.reduce[{i}]") for i in range(4)]
    assert [(r.attrs["out"], r.attrs["k"], r.attrs["bias"]) for r in reduce] == [
        (16, 1, True),
        (32, 1, True),
        (64, 1, True),
        (128, 1, True),
    ]
    scatter = output(s)
    assert scatter.op == "scatter" and scatter.attrs["index"] == (7, 9)
    assert scatter.attrs["channels"] == 17
    assert node(s, "nfs_part.vector_head.final").attrs["out"] == 2 * 8
    assert node(s, "nfs_part.vector_head.relu").inputs == (
        node(s, "nfs_part.layer[2].nfs_layer.cell[0].cell.darts_cell.project").id,
    )

    no_reduce = elaborate(
        alpha() + PYRAMID + "    output h = nfs_part([f0, f1, f2, f3], alpha, "
        f"{WIDTHS}, [0], layers=4, cut=2, dim=1, reduce=false)",
        net=False,
    )
    assert not [n for n in no_reduce.nodes if ".reduce[" in n.name]
    assert len([c for c in no_reduce.choices if c.name.endswith(".beta")]) == 2 + 1
    assert node(no_reduce, "nfs_part.vector_head.final").attrs["out"] == 1

    msgs = errors(
        alpha()
        + PYRAMID
        + f"    output h = nfs_part([f0, f1], alpha, {WIDTHS}, [0], layers=8, cut=4)"
    )
    assert any("a feature per cell" in m for m in msgs)


# ---------------------------------------------------------------- std.darts (DARTS's order)


def test_relu_conv_bn():
    s = elaborate("    output h = image -> relu_conv_bn(16, k=3, stride=2, affine=false)")
    assert ops(s) == ["relu", "conv", "bn"]
    assert node(s, "relu_conv_bn.conv").attrs["stride"] == 2
    assert node(s, "relu_conv_bn.bn").attrs["affine"] is False


def test_darts_sep_conv():
    s = elaborate("    output h = image -> conv(8) -> darts_sep_conv(k=5, stride=2)")
    assert ops(s, "darts_sep_conv") == ["relu", "conv", "conv", "bn"] * 2
    convs = [n for n in under(s, "darts_sep_conv") if n.op == "conv"]
    assert [c.attrs["k"] for c in convs] == [5, 1, 5, 1]
    assert [c.attrs["stride"] for c in convs] == [2, 1, 1, 1]


def test_darts_dil_conv():
    s = elaborate("    output h = image -> conv(8) -> darts_dil_conv(16, k=3)")
    assert ops(s, "darts_dil_conv") == ["relu", "conv", "conv", "bn"]
    dw = next(n for n in under(s, "darts_dil_conv") if n.op == "conv")
    assert (dw.attrs["k"], dw.attrs["dilation"]) == (3, 2)


def test_factorized_reduce():
    s = elaborate("    output h = image -> conv(8) -> factorized_reduce(16)")
    assert ops(s, "factorized_reduce") == ["relu", "conv", "crop", "conv", "cat", "bn"]
    crop = next(n for n in under(s, "factorized_reduce") if n.op == "crop")
    assert (crop.attrs["top"], crop.attrs["left"]) == (1, 1)
    assert node(s, "factorized_reduce.conv_2").attrs["stride"] == 2


def test_darts_skip():
    s = elaborate("    output h = image -> conv(8) -> darts_skip")
    assert ops(s, "darts_skip") == ["skip"]
    s = elaborate("    output h = image -> conv(8) -> darts_skip(stride=2)")
    assert "crop" in ops(s, "darts_skip")


def test_darts_pool():
    s = elaborate('    output h = image -> darts_pool("avg", stride=2)')
    assert ops(s) == ["avgpool", "bn"]
    assert node(s, "darts_pool.bn").attrs["affine"] is False


def test_darts_ops():
    s = elaborate(
        "    let e = darts_ops(2) as e[0, 0]\n    output h = image -> conv(8) -> e", net=False
    )
    (choice,) = s.choices
    assert choice.name == "e[0,0].oneof"
    assert choice.realise == "weighted"
    assert choice.domain == (
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    )
