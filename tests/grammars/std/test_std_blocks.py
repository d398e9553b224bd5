"""The standard library of blocks (grammars/std/*.arch), one test per block.

Each test elaborates a small `net` or `space` that calls the block, asserts that
it produces no diagnostic, and checks structural facts of the graph: the ops in
order, their attributes, the `select` of an optional residual or attention, the
`choose` node of a `oneof`. Channel counts the front end leaves symbolic
(`x.channels`) are evaluated with a small channel inference (`channels_of`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from archc.dsl import ast
from archc.dsl.frontend import check_file
from archc.dsl.parser import parse
from archc.dsl.program import Elaborated, GraphNode
from archc.grammars import STD_DIR
from archc.kernel.diagnostics import Severity, render
from archc.kernel.symbolic import ChoiceRef, evaluate, is_symbolic

STD_FILES = sorted(p for p in STD_DIR.glob("*.arch") if p.stem != "prelude")


# ---------------------------------------------------------------- helpers


def elaborate(
    body: str, *, net: bool = True, shape: str = "[3, 64, 48]", blocks: str = ""
) -> Elaborated:
    kind = "net" if net else "space"
    text = f"import std\n{blocks}\n{kind} t {{\n    input image: {shape}\n{body}\n}}\n"
    result = check_file("mem.arch", text)
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert not errors, render(result.diagnostics, result.sources)
    (space,) = result.spaces
    assert space.outputs
    return space


def errors(body: str) -> list[str]:
    text = f"import std\nspace t {{\n    input image: [3, 64, 48]\n{body}\n}}\n"
    return [d.message for d in check_file("mem.arch", text).diagnostics]


def under(space: Elaborated, prefix: str, kind: str | None = "op") -> list[GraphNode]:
    """Nodes whose name starts with `prefix` (a scope path), in creation order."""
    return [
        n
        for n in space.nodes
        if (n.name == prefix or n.name.startswith(prefix + "."))
        and (kind is None or n.kind == kind)
    ]


def ops(space: Elaborated, prefix: str = "") -> list[str]:
    nodes = under(space, prefix) if prefix else [n for n in space.nodes if n.kind == "op"]
    return [n.op for n in nodes]


def node(space: Elaborated, name: str) -> GraphNode:
    (found,) = [n for n in space.nodes if n.name == name]
    return found


def output(space: Elaborated, name: str = "h") -> GraphNode:
    return space.nodes[dict(space.outputs)[name]]


def channels_of(space: Elaborated, config: dict | None = None) -> Callable[[int, int], int]:
    """A minimal channel inference for the ops used here (tests only)."""
    config = config or {}

    def dims(node_id: int, axis: int) -> int:
        assert axis == 0, "only channels are needed"
        n = space.nodes[node_id]
        if n.kind == "input":
            return n.attrs["shape"][0]
        if n.op in ("conv", "deconv"):
            return evaluate(n.attrs["out"], config, dims)
        if n.op == "cat":
            return sum(dims(i, 0) for i in n.inputs)
        if n.kind == "select":
            taken = n.inputs[0] if evaluate(n.attrs["cond"], config, dims) else n.inputs[1]
            return dims(taken, 0)
        return dims(n.inputs[0], 0)

    return dims


def value(space: Elaborated, v, config: dict | None = None):
    return evaluate(v, config or {}, channels_of(space, config))


# ---------------------------------------------------------------- the library itself


def std_blocks() -> dict[str, ast.BlockDecl]:
    blocks = {}
    for path in STD_FILES:
        for item in parse(path.read_text(), f"std/{path.name}").items:
            if isinstance(item, ast.BlockDecl):
                assert item.name not in blocks, f"{item.name} is defined twice in std"
                blocks[item.name] = item
    return blocks


def test_every_std_block_has_a_doc_string_and_a_test_here():
    """Tests live here or, for the NAS cell blocks, in test_std_nas_blocks.py."""
    tested = set(globals()) | set(vars(_nas_block_tests()))
    blocks = std_blocks()
    assert len(blocks) >= 25
    for name, decl in blocks.items():
        assert decl.doc and len(decl.doc) > 20, f"block `{name}` has no doc string"
        assert f"test_{name}" in tested, f"block `{name}` has no test in tests/std"


def _nas_block_tests():
    import importlib.util

    path = Path(__file__).with_name("test_std_nas_blocks.py")
    spec = importlib.util.spec_from_file_location("_std_nas_block_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_import_std_defines_no_name_twice_and_shadows_no_prelude_op():
    prelude = {
        i.name
        for i in parse((STD_DIR / "prelude.arch").read_text()).items
        if isinstance(i, ast.OpDecl)
    }
    assert not prelude & set(std_blocks())
    result = check_file(
        "mem.arch",
        "import std\nnet n {\n    input image: [3, 8, 8]\n    output h = image -> relu\n}\n",
    )
    assert not result.diagnostics
    for path in STD_FILES:  # each module also imports alone, with whatever it imports
        text = f"import std.{path.stem}\nnet n {{\n    input i: [3, 8, 8]\n    output h = i\n}}\n"
        assert not check_file("mem.arch", text).diagnostics


# ---------------------------------------------------------------- attention.arch


def test_se():
    s = elaborate("    output h = image -> conv(32) -> se")
    assert ops(s, "se") == ["global_avgpool", "conv", "relu", "conv", "hsigmoid", "mul"]
    squeeze, excite = node(s, "se.squeeze"), node(s, "se.excite")
    assert value(s, squeeze.attrs["out"]) == 8 and value(s, excite.attrs["out"]) == 32
    assert squeeze.attrs["bias"] is True and excite.attrs["bias"] is True
    assert dict(node(s, "se.hsigmoid").attrs) == {"bias": 3.0, "divisor": 6.0}
    conv, mul = node(s, "conv"), node(s, "se.mul")
    assert mul.inputs == (conv.id, node(s, "se.hsigmoid").id) and output(s) is mul

    vipnas = elaborate("    output h = image -> conv(96) -> se(ratio=4, bias=1.0, divisor=2.0)")
    assert dict(node(vipnas, "se.hsigmoid").attrs) == {"bias": 1.0, "divisor": 2.0}
    assert value(vipnas, node(vipnas, "se.squeeze").attrs["out"]) == 24


def test_gc_block():
    s = elaborate("    output h = image -> conv(80) -> gc_block")
    assert ops(s, "gc_block") == [
        "conv",
        "attention_pool",
        "conv",
        "layernorm",
        "relu",
        "conv",
        "add",
    ]
    x, mask = node(s, "conv"), node(s, "gc_block.mask")
    assert mask.attrs["out"] == 1 and mask.attrs["bias"] is True
    assert node(s, "gc_block.attention_pool").inputs == (x.id, mask.id)
    planes = node(s, "gc_block.transform_in").attrs["out"]
    assert value(s, planes) == 16  # int(80 * max(1/16, 16/80))
    assert value(s, node(s, "gc_block.transform_out").attrs["out"]) == 80
    assert node(s, "gc_block.add").inputs == (x.id, node(s, "gc_block.transform_out").id)

    wide = elaborate("    output h = image -> conv(608) -> gc_block")
    assert value(wide, node(wide, "gc_block.transform_in").attrs["out"]) == 38


# ---------------------------------------------------------------- mobile.arch


def test_mbconv():
    # expansion 1, stride 1: no expansion conv; a residual guarded by in == out
    s = elaborate("    output h = image -> conv(16) -> mbconv(16, k=5)")
    assert ops(s, "mbconv") == ["conv", "bn", "activation", "conv", "bn", "add"]
    dw = node(s, "mbconv.dw_conv")
    assert dw.attrs["k"] == 5 and dw.attrs["groups"] == 16 and dw.attrs["stride"] == 1
    select = output(s)
    assert select.kind == "select"
    assert value(s, select.attrs["cond"]) is True
    assert select.inputs == (node(s, "mbconv.add").id, node(s, "mbconv.bn_1").id)

    # expansion, stride 2, ViPNAS groups and activation: three convs and no residual
    s = elaborate(
        "    output h = image -> conv(16) -> "
        'mbconv(24, k=7, expand=5, stride=2, groups=20, act="hswish")'
    )
    convs = under(s, "mbconv")
    assert [n.name for n in convs if n.op == "conv"] == [
        "mbconv.expand_conv",
        "mbconv.dw_conv",
        "mbconv.project",
    ]
    assert node(s, "mbconv.expand_conv").attrs["out"] == 120  # mid = out * expand
    assert node(s, "mbconv.dw_conv").attrs["groups"] == 20
    assert {n.attrs["fn"] for n in convs if n.op == "activation"} == {"hswish"}
    assert "add" not in ops(s) and output(s).name == "mbconv.bn_2"

    # attention on: the SE block on the mid channels, ViPNAS's hard sigmoid
    s = elaborate("    output h = image -> conv(16) -> mbconv(16, expand=4, se=true)")
    assert ops(s, "mbconv.se")[0] == "global_avgpool"
    assert value(s, node(s, "mbconv.se.excite").attrs["out"]) == 64
    assert dict(node(s, "mbconv.se.hsigmoid").attrs) == {"bias": 1.0, "divisor": 2.0}


def test_mbconv_with_choices_makes_guards_and_selects():
    s = elaborate(
        "    let e = choice(1, 4)\n    let att = choice(false, true)\n"
        "    let k = choice(3, 5)\n"
        "    output h = image -> conv(16) -> mbconv(16, k=k, expand=e, se=att)",
        net=False,
    )
    assert [c.name for c in s.choices] == ["e", "att", "k"]
    expand = node(s, "mbconv.expand_conv")
    assert value(s, expand.guard, {"e": 1}) is False and value(s, expand.guard, {"e": 4})
    assert node(s, "mbconv.dw_conv").attrs["k"] == ChoiceRef("k", "int")
    assert value(s, node(s, "mbconv.dw_conv").attrs["groups"], {"e": 4}) == 64
    for n in under(s, "mbconv.se"):
        assert n.guard == ChoiceRef("att", "bool")
    selects = under(s, "mbconv", kind="select")
    assert [str(n.attrs["cond"]) for n in selects[:2]] == ["(e != 1)", "att"]
    assert node(s, "mbconv.select_1").inputs == (
        node(s, "mbconv.se.mul").id,
        node(s, "mbconv.activation_1").id,
    )


def test_mbconv_ep():
    s = elaborate("    output h = image -> conv(20) -> mbconv_ep(24, k=5, expand=3, stride=2)")
    assert ops(s, "mbconv_ep") == ["conv", "bn", "relu", "conv", "bn", "relu", "conv", "bn"]
    mid = node(s, "mbconv_ep.expand_conv").attrs["out"]
    assert is_symbolic(mid) and value(s, mid) == 64  # 20 * 3 = 60, rounded to 64
    dw = node(s, "mbconv_ep.dw_conv")
    assert dw.attrs["groups"] == mid and dw.attrs["k"] == 5 and dw.attrs["stride"] == 2
    assert output(s).name == "mbconv_ep.bn_2"

    # EfficientPose's stem ends with an expansion-1 block: no expansion conv
    s = elaborate("    output h = image -> conv(32) -> mbconv_ep(16, expand=1)")
    assert ops(s, "mbconv_ep") == ["conv", "bn", "relu", "conv", "bn", "add"]
    assert value(s, output(s).attrs["cond"]) is False  # 32 -> 16: no residual


# ---------------------------------------------------------------- resnet.arch


def test_shortcut():
    s = elaborate("    output h = image -> conv(64) -> shortcut(128, stride=2)")
    assert ops(s, "shortcut") == ["conv", "bn"]
    assert node(s, "shortcut.proj").attrs["stride"] == 2
    assert not under(s, "shortcut", kind="select")

    s = elaborate("    output h = image -> conv(64) -> shortcut(64)")
    select = output(s)
    assert select.kind == "select" and value(s, select.attrs["cond"]) is False
    assert select.inputs[1] == node(s, "conv").id  # identity when the shape is kept
    assert node(s, "shortcut.proj").guard == select.attrs["cond"]


def test_basic_block():
    s = elaborate("    output h = image -> conv(32) -> basic_block(32)")
    assert ops(s, "basic_block") == [
        "conv",
        "bn",
        "relu",
        "conv",
        "bn",
        "conv",
        "bn",
        "add",
        "relu",
    ]
    assert [n.attrs["k"] for n in under(s, "basic_block") if n.op == "conv"] == [3, 3, 1]
    add = node(s, "basic_block.add")
    assert add.inputs[0] == node(s, "basic_block.bn_1").id
    assert space_value_of_select(s, "basic_block.shortcut.select") is False

    s = elaborate("    output h = image -> conv(32) -> basic_block(64, stride=2)")
    assert node(s, "basic_block.conv").attrs["stride"] == 2
    assert node(s, "basic_block.shortcut.proj").attrs["out"] == 64


def space_value_of_select(s: Elaborated, name: str) -> bool:
    return value(s, node(s, name).attrs["cond"])


def test_bottleneck():
    s = elaborate("    output h = image -> conv(64) -> bottleneck(256)")
    convs = [n for n in under(s, "bottleneck") if n.op == "conv"]
    assert [(n.attrs["k"], n.attrs["out"]) for n in convs] == [(1, 64), (3, 64), (1, 256), (1, 256)]
    assert convs[-1].name == "bottleneck.shortcut.proj"
    assert space_value_of_select(s, "bottleneck.shortcut.select") is True  # 64 != 256
    assert ops(s, "bottleneck")[-2:] == ["add", "relu"]

    # ViPNAS: no reduction, grouped kxk, GC block on the residual branch before the add
    s = elaborate(
        "    output h = image -> conv(48) -> bottleneck(80, expansion=1, k=5, groups=16, gc=true)"
    )
    mid = node(s, "bottleneck.conv_1")
    assert (mid.attrs["out"], mid.attrs["k"], mid.attrs["groups"]) == (80, 5, 16)
    assert node(s, "bottleneck.add").inputs[0] == node(s, "bottleneck.gc_block.add").id

    s = elaborate(
        "    let att = choice(false, true)\n"
        "    output h = image -> conv(80) -> bottleneck(80, expansion=1, gc=att)",
        net=False,
    )
    gate = node(s, "bottleneck.select")
    assert gate.attrs["cond"] == ChoiceRef("att", "bool")
    assert all(n.guard == ChoiceRef("att", "bool") for n in under(s, "bottleneck.gc_block"))


def test_resnet_stem():
    s = elaborate("    output h = image -> resnet_stem(48)")
    assert ops(s) == ["conv", "bn", "relu", "maxpool"]
    conv, pool = node(s, "resnet_stem.conv"), node(s, "resnet_stem.maxpool")
    assert (conv.attrs["out"], conv.attrs["k"], conv.attrs["stride"]) == (48, 7, 2)
    assert (pool.attrs["k"], pool.attrs["stride"]) == (3, 2)


# ---------------------------------------------------------------- heads.arch


def test_deconv_layers():
    s = elaborate("    output h = image -> conv(64) -> deconv_layers([64, 32], groups=0)")
    deconvs = [n for n in s.nodes if n.op == "deconv"]
    assert [n.name for n in deconvs] == [
        "deconv_layers.deconv[0].deconv",
        "deconv_layers.deconv[1].deconv",
    ]
    assert [
        (n.attrs["out"], n.attrs["groups"], n.attrs["k"], n.attrs["stride"]) for n in deconvs
    ] == [(64, 64, 4, 2), (32, 32, 4, 2)]
    assert ops(s, "deconv_layers") == ["deconv", "bn", "relu"] * 2


def test_deconv_head():
    s = elaborate("    output h = image -> deconv_head")
    assert ops(s) == ["deconv", "bn", "relu"] * 3 + ["conv"]
    final = node(s, "deconv_head.final")
    assert (final.attrs["out"], final.attrs["k"], final.attrs["bias"]) == (17, 1, True)
    assert {n.attrs["out"] for n in s.nodes if n.op == "deconv"} == {256}

    s = elaborate("    output h = image -> conv(160) -> deconv_head([160, 160, 160], groups=160)")
    assert {n.attrs["groups"] for n in s.nodes if n.op == "deconv"} == {160}


def test_slim_head():
    s = elaborate("    output h = image -> conv(64) -> slim_head(joints=17)")
    assert ops(s, "slim_head") == ["deconv", "bn", "relu"] * 2 + ["conv", "relu", "conv"]
    sic = node(s, "slim_head.sic")
    assert (sic.attrs["out"], sic.attrs["k"], sic.attrs["groups"], sic.attrs["bias"]) == (
        32,
        3,
        32,
        False,
    )
    assert output(s).name == "slim_head.final" and output(s).attrs["bias"] is True


# ---------------------------------------------------------------- cells.arch

ALL_OPS = "sep_conv_3x3, dil_conv_3x3, avg_pool_3x3, max_pool_3x3, skip, zero"


def test_sep_conv():
    s = elaborate("    output h = image -> conv(16) -> sep_conv(24, stride=2)")
    assert ops(s, "sep_conv") == ["conv", "conv", "bn", "relu"] * 2
    convs = [n for n in under(s, "sep_conv") if n.op == "conv"]
    assert [n.attrs["k"] for n in convs] == [3, 1, 3, 1]
    assert [n.attrs["stride"] for n in convs] == [2, 1, 1, 1]
    assert [value(s, n.attrs["groups"]) for n in convs] == [16, 1, 16, 1]
    assert value(s, convs[-1].attrs["out"]) == 24
    assert all(n.attrs["affine"] is False for n in under(s, "sep_conv") if n.op == "bn")
    assert not any(n.attrs["bias"] for n in convs)


def test_dil_conv():
    s = elaborate("    output h = image -> conv(16) -> dil_conv(16)")
    assert ops(s, "dil_conv") == ["conv", "conv", "bn", "relu"]
    dw = node(s, "dil_conv.conv")
    assert (dw.attrs["k"], dw.attrs["dilation"], dw.attrs["padding"]) == (3, 2, -1)
    assert value(s, dw.attrs["groups"]) == 16
    assert node(s, "dil_conv.bn").attrs["affine"] is False


def test_sep_conv_3x3():
    s = elaborate("    output h = image -> conv(24) -> sep_conv_3x3")
    assert ops(s, "sep_conv_3x3") == ["conv", "conv", "bn", "relu"] * 2
    assert value(s, node(s, "sep_conv_3x3.sep_conv.conv_3").attrs["out"]) == 24  # kept


def test_dil_conv_3x3():
    s = elaborate("    output h = image -> conv(24) -> dil_conv_3x3")
    assert ops(s, "dil_conv_3x3") == ["conv", "conv", "bn", "relu"]
    assert node(s, "dil_conv_3x3.dil_conv.conv").attrs["dilation"] == 2
    assert value(s, node(s, "dil_conv_3x3.dil_conv.conv_1").attrs["out"]) == 24


def check_pool_candidate(block: str, pool: str) -> None:
    s = elaborate(f"    output h = image -> {block}")
    assert ops(s) == [pool, "bn"]
    attrs = node(s, f"{block}.{pool}").attrs
    assert (attrs["k"], attrs["stride"], attrs["padding"]) == (3, 1, -1)
    assert node(s, f"{block}.bn").attrs["affine"] is False


def test_avg_pool_3x3():
    check_pool_candidate("avg_pool_3x3", "avgpool")


def test_max_pool_3x3():
    check_pool_candidate("max_pool_3x3", "maxpool")


def test_cell_edges():
    s = elaborate(
        '    assert cell_edges(2, 4) == 14, "DARTS: 2 + 3 + 4 + 5"\n'
        '    assert cell_edges(1, 3) == 6, "1 + 2 + 3"\n'
        "    output h = image -> relu"
    )
    assert ops(s) == ["relu"]


def alpha(n_in: int, nodes: int, realise: str = "weighted", name: str = "alpha") -> str:
    return (
        f"    let {name} = [oneof({ALL_OPS}, realise={realise}) as {name}[j, t]\n"
        f"                 for t in range({nodes}) for j in range({n_in} + t)]\n"
    )


def test_cell_node():
    s = elaborate(
        alpha(2, 1) + "    let x = image -> conv(8)\n"
        "    let states = cell_node([x, x], alpha, 0)\n"
        "    output a = states[0]\n    output h = states[2]",
        net=False,
    )
    chooses = [n for n in s.nodes if n.kind == "choose"]
    assert [n.attrs["choice"] for n in chooses] == ["alpha[0,0]", "alpha[1,0]"]
    assert len(chooses[0].inputs) == 6  # one per candidate
    assert output(s).op == "add" and output(s).inputs == tuple(n.id for n in chooses)
    assert output(s, "a").name == "conv"


def test_darts_cell():
    s = elaborate(
        alpha(2, 3) + "    let x = image -> conv(16)\n"
        "    let c1 = darts_cell([x, x], alpha, nodes=3, out=16) as cell1\n"
        "    output h = darts_cell([x, c1], alpha, nodes=3, out=16) as cell2",
        net=False,
    )
    assert len(s.choices) == 2 + 3 + 4  # one decision per edge, shared by both cells
    for cell in ("cell1", "cell2"):
        chooses = under(s, cell, kind="choose")
        assert [n.attrs["choice"] for n in chooses] == [c.name for c in s.choices]
        assert all(n.attrs["realise"] == "weighted" for n in chooses)
        cat = node(s, f"{cell}.cat")
        assert len(cat.inputs) == 3  # the hidden nodes
        project = node(s, f"{cell}.project")
        assert project.attrs["bias"] is True and project.inputs == (cat.id,)
    # each cell has its own weights: separate candidate nodes per cell
    sep = [
        n for n in s.nodes if n.name.endswith("alpha[0,0].sep_conv_3x3.sep_conv_3x3.sep_conv.conv")
    ]
    assert len(sep) == 2 and sep[0].guard == sep[1].guard

    # candidate nodes are guarded by the decision
    skip = next(n for n in s.nodes if n.op == "skip")
    assert str(skip.guard) == '(alpha[0,0] == "skip")'


def test_darts_cell_checks_its_edge_count():
    msgs = errors(
        alpha(2, 2) + "    let x = image -> conv(16)\n"
        "    output h = darts_cell([x, x], alpha, nodes=3)"
    )
    assert any("one edge per" in m for m in msgs)


def test_cell():
    s = elaborate(
        alpha(1, 2) + "    output h = image -> conv(8) -> cell(alpha, nodes=2)", net=False
    )
    assert len(under(s, "cell", kind="choose")) == 3
    assert output(s).op == "cat" and "project" not in [n.name.split(".")[-1] for n in s.nodes]


def test_mixed_input():
    s = elaborate(
        "    let a = image -> conv(8)\n    let b = image -> conv(8, k=3)\n"
        "    let c = image -> conv(8, k=5)\n"
        "    output h = mixed_input([a, b, c])",
        net=False,
    )
    beta = node(s, "mixed_input.beta")
    assert beta.kind == "choose" and beta.attrs["realise"] == "weighted"
    assert beta.inputs == tuple(node(s, n).id for n in ("conv", "conv_1", "conv_2"))
    assert s.choice("mixed_input.beta").kind == "input"
    assert output(s).op == "relu" and output(s).inputs == (beta.id,)

    single = elaborate("    output h = mixed_input([image])")
    assert not single.choices and ops(single) == ["relu"]


def test_from_finer():
    s = elaborate("    output h = image -> from_finer(32)")
    assert ops(s) == ["conv", "bn"]
    conv = node(s, "from_finer.conv")
    assert (conv.attrs["k"], conv.attrs["stride"], conv.attrs["bias"]) == (3, 2, True)


def test_from_coarser():
    s = elaborate("    output h = image -> from_coarser(32)")
    assert ops(s) == ["conv", "bn", "upsample"]
    assert node(s, "from_coarser.conv").attrs["bias"] is True
    assert dict(node(s, "from_coarser.upsample").attrs) == {
        "factor": 2,
        "mode": "bilinear",
        "align_corners": False,
    }


def test_nfs_cell():
    s = elaborate(
        alpha(1, 2) + "    let a = image -> conv(16)\n"
        "    let b = image -> conv(32, k=3, stride=2) -> from_coarser(16)\n"
        "    output h = nfs_cell([a, b], alpha, 16, nodes=2)",
        net=False,
    )
    chooses = under(s, "nfs_cell", kind="choose")
    assert chooses[0].name == "nfs_cell.mixed_input.beta" and len(chooses) == 1 + 3
    assert output(s).name == "nfs_cell.cell.darts_cell.project"
    assert output(s).attrs["out"] == 16


# ---------------------------------------------------------------- hrnet.arch


def test_hrnet_stem():
    s = elaborate("    output h = image -> hrnet_stem")
    assert ops(s) == ["conv", "bn", "relu"] * 2
    assert [
        (n.attrs["out"], n.attrs["k"], n.attrs["stride"]) for n in s.nodes if n.op == "conv"
    ] == [(64, 3, 2)] * 2


def test_transition_branch():
    s = elaborate(
        "    let x = image -> conv(32)\n"
        "    output a = transition_branch([x], 48, 0) as same\n"
        "    output b = transition_branch([x], 64, 2) as new"
    )
    assert ops(s, "same") == ["conv", "bn", "relu"]
    assert node(s, "same.conv").attrs["stride"] == 1
    assert output(s, "a").kind == "select" and value(s, output(s, "a").attrs["cond"]) is True
    assert ops(s, "new") == ["conv", "bn", "relu"] * 2  # two stride-2 steps from 1 branch
    new = [n for n in under(s, "new") if n.op == "conv"]
    assert [(n.attrs["stride"], value(s, n.attrs["out"])) for n in new] == [(2, 32), (2, 64)]


def test_hrnet_transition():
    s = elaborate(
        "    let x = image -> conv(256)\n"
        "    let xs = hrnet_transition([x], [32, 64])\n"
        "    output a = xs[0]\n    output b = xs[1]"
    )
    assert ops(s, "hrnet_transition.branch[0]") == ["conv", "bn", "relu"]
    assert ops(s, "hrnet_transition.branch[1]") == ["conv", "bn", "relu"]
    assert node(s, "hrnet_transition.branch[1].conv").attrs["stride"] == 2
    assert output(s, "a").kind == "select" and output(s, "b").op == "relu"


def test_fuse_term():
    s = elaborate(
        "    let x = image -> conv(64)\n"
        "    output same = fuse_term(x, 64, 1, 1)\n"
        "    output up = fuse_term(x, 32, 0, 2) as up\n"
        "    output down = fuse_term(x, 128, 3, 0) as down"
    )
    assert output(s, "same").name == "conv"
    assert ops(s, "up") == ["conv", "bn", "upsample"]
    assert node(s, "up.upsample").attrs["factor"] == 4
    assert ops(s, "down") == ["conv", "bn", "relu", "conv", "bn", "relu", "conv", "bn"]
    downs = [n for n in under(s, "down") if n.op == "conv"]
    assert [(n.attrs["stride"], value(s, n.attrs["out"])) for n in downs] == [
        (2, 64),
        (2, 64),
        (2, 128),
    ]


def test_hrnet_fuse():
    s = elaborate(
        "    let a = image -> conv(32)\n"
        "    let b = image -> conv(64, stride=2)\n"
        "    let c = image -> conv(128, stride=4)\n"
        "    let ys = hrnet_fuse([a, b, c], [32, 64, 128])\n"
        "    output h = ys[0]\n    output h1 = ys[1]\n    output h2 = ys[2]"
    )
    adds = under(s, "hrnet_fuse", kind="op")
    assert [len(n.inputs) for n in adds if n.op == "add"] == [3, 3, 3]
    assert all(output(s, o).op == "relu" for o in ("h", "h1", "h2"))
    assert node(s, "hrnet_fuse.add").inputs[0] == node(s, "conv").id  # j == i: as is
    assert node(s, "hrnet_fuse.term[2,0].down[0].conv").attrs["stride"] == 2

    one = elaborate(
        "    let a = image -> conv(32)\n    let b = image -> conv(64, stride=2)\n"
        "    output h = hrnet_fuse([a, b], [32, 64], outputs=1)[0]"
    )
    assert [n.op for n in under(one, "hrnet_fuse")] == ["conv", "bn", "upsample", "add", "relu"]


def test_hrnet_module():
    s = elaborate(
        "    let a = image -> conv(32)\n    let b = image -> conv(64, stride=2)\n"
        "    let ys = hrnet_module([a, b], [32, 64], blocks=2)\n"
        "    output h = ys[0]\n    output h1 = ys[1]"
    )
    blocks = sorted(
        {
            n.name.split(".basic_block")[0]
            for n in under(s, "hrnet_module")
            if ".basic_block." in n.name
        }
    )
    assert blocks == [
        "hrnet_module.branch[0][0]",
        "hrnet_module.branch[0][1]",
        "hrnet_module.branch[1][0]",
        "hrnet_module.branch[1][1]",
    ]
    assert [
        n.attrs["out"]
        for n in s.nodes
        if re.fullmatch(r"hrnet_module\.branch\[\d\]\[0\]\.basic_block\.conv", n.name)
    ] == [32, 64]
    assert output(s).name == "hrnet_module.hrnet_fuse.relu"


def test_hrnet_stage():
    s = elaborate(
        "    let a = image -> conv(32)\n    let b = image -> conv(64, stride=2)\n"
        "    output h = hrnet_stage([a, b], [32, 64], modules=2, blocks=1,"
        " outputs=1)[0]"
    )
    fuse0 = under(s, "hrnet_stage.module[0].hrnet_module.hrnet_fuse")
    fuse1 = under(s, "hrnet_stage.module[1].hrnet_module.hrnet_fuse")
    assert [n.op for n in fuse0].count("add") == 2 and [n.op for n in fuse1].count("add") == 1
    assert output(s).name == "hrnet_stage.module[1].hrnet_module.hrnet_fuse.relu"

    # elastic number of modules: every branch is bypassed when a module is inactive
    s = elaborate(
        "    let a = image -> conv(32)\n    let b = image -> conv(64, stride=2)\n"
        "    let m = choice(1, 2)\n"
        "    let ys = hrnet_stage([a, b], [32, 64], modules=m, blocks=1)\n"
        "    output h = ys[0]\n    output h1 = ys[1]",
        net=False,
    )
    bypass = [n for n in s.nodes if n.kind == "select" and str(n.attrs["cond"]) == "(m > 1)"]
    assert len(bypass) == 2 and output(s) is bypass[0] and output(s, "h1") is bypass[1]


# ---------------------------------------------------- language features the library uses


def test_indexing_a_list_of_choices_gives_the_choice_itself():
    s = elaborate(
        "    let on = [choice(false, true) as gate[b] for b in range(2)]\n"
        "    output h = (image -> relu) if on[1] else image",
        net=False,
    )
    assert output(s).attrs["cond"] == ChoiceRef("gate[1]", "bool")


def test_make_divisible_accepts_values_that_depend_on_shapes_and_choices():
    s = elaborate(
        "    let e = choice(3, 5)\n"
        "    output h = image -> conv(20) -> conv(make_divisible(20 * e, 8))\n"
        "    output h1 = image -> conv(make_divisible(image.channels * 7, 8))",
        net=False,
    )
    assert value(s, output(s).attrs["out"], {"e": 3}) == 64
    assert value(s, output(s).attrs["out"], {"e": 5}) == 104
    assert value(s, output(s, "h1").attrs["out"]) == 24  # 21 -> 24


def test_slim_head_without_spatial_information_correction():
    s = elaborate("    output h = image -> conv(64) -> slim_head(joints=17, sic=false)")
    assert ops(s, "slim_head") == ["deconv", "bn", "relu"] * 2 + ["conv"]
    assert output(s).name == "slim_head.final"


# ---------------------------------------------------------------- std.channels


def test_split():
    s = elaborate("    let p = split(image -> conv(12), 3)\n    output h = cat([p[2], p[0]])")
    slices = under(s, "split")
    assert [n.op for n in slices] == ["channel_slice"] * 3
    assert [(value(s, n.attrs["start"]), value(s, n.attrs["stop"])) for n in slices] == [
        (0, 4),
        (4, 8),
        (8, 12),
    ]  # channels that do not divide: an error once shapes are known (test_channel_ops.py)


def test_split_sizes():
    s = elaborate("    let p = split_sizes(image -> conv(12), [2, 7, 3])\n    output h = p[1]")
    slices = under(s, "split_sizes")
    assert [(value(s, n.attrs["start"]), value(s, n.attrs["stop"])) for n in slices] == [
        (0, 2),
        (2, 9),
        (9, 12),
    ]
    # a split that does not add up fails when shapes are known: test_channel_ops.py


def test_shuffle_unit():
    s = elaborate("    output h = image -> conv(16) -> shuffle_unit(16)")
    assert ops(s, "shuffle_unit") == [
        "channel_slice",
        "channel_slice",
        *["conv", "bn", "relu", "conv", "bn", "conv", "bn", "relu"],
        "cat",
        "shuffle",
    ]
    down = elaborate("    output h = image -> conv(16) -> shuffle_unit(32, stride=2)")
    assert ops(down, "shuffle_unit.branch1_dw") == ["conv"]
    assert node(down, "shuffle_unit.branch2_dw").attrs["stride"] == 2
    assert value(down, node(down, "shuffle_unit.branch1_pw").attrs["out"]) == 16


# ---------------------------------------------------------------- std.transformer


def test_patch_embed():
    s = elaborate("    output h = image -> patch_embed(64, patch=16, padding=2)")
    proj = node(s, "patch_embed.proj")
    assert ops(s) == ["conv"] and output(s) is proj
    assert (proj.attrs["k"], proj.attrs["stride"], proj.attrs["padding"]) == (16, 16, 2)
    assert proj.attrs["bias"] is True and value(s, proj.attrs["out"]) == 64


def test_mlp():
    s = elaborate("    output h = image -> conv(32) -> mlp(96)")
    assert ops(s, "mlp") == ["conv", "gelu", "conv"]
    fc1, fc2 = node(s, "mlp.fc1"), node(s, "mlp.fc2")
    assert value(s, fc1.attrs["out"]) == 96 and value(s, fc2.attrs["out"]) == 32
    assert fc1.attrs["bias"] is True and fc2.attrs["bias"] is True


def test_vit_block():
    s = elaborate("    output h = image -> conv(32) -> vit_block(4, ratio=3.0, head_dim=8)")
    assert ops(s, "vit_block") == [
        *["channel_norm", "attention", "add", "channel_norm"],
        *["conv", "gelu", "conv", "add"],
    ]
    attn = node(s, "vit_block.attn")
    assert (attn.attrs["heads"], attn.attrs["head_dim"], attn.attrs["qkv_bias"]) == (4, 8, True)
    assert value(s, node(s, "vit_block.mlp.fc1").attrs["out"]) == 96
    assert output(s) is node(s, "vit_block.add_1")


def test_vit():
    s = elaborate("    output h = image -> conv(32) -> vit(2, 4, eps=1e-6)")
    assert [n.name for n in under(s, "vit") if n.op == "attention"] == [
        "vit.blocks[0].vit_block.attn",
        "vit.blocks[1].vit_block.attn",
    ]
    last = node(s, "vit.last_norm")
    assert last.attrs["eps"] == 1e-6 and output(s) is last
