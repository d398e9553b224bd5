"""Graphviz backend: DOT text of spaces and nets, folding by depth, escaping, rendering."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from archc.api import compile_file
from archc.compiler.backends import graphviz
from archc.compiler.backends.graphviz import RenderError, render, to_dot
from archc.compiler.ir import IRNode, SpaceFacts
from archc.kernel.span import Span
from tests.example_spaces import HEAVY

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(ROOT.glob("examples/**/*.arch"))
# autopose (5,000+ nodes) takes 10-15 s here: in the slow run only
EXAMPLE_PARAMS = [
    pytest.param(p, id=p.name, marks=pytest.mark.slow)
    if p.stem == "autopose"
    else pytest.param(p, id=p.name)
    for p in EXAMPLES
]
GOLDEN = ROOT / "tests" / "fixtures" / "graphviz" / "small_space.dot"
DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="graphviz `dot` binary not installed")

# one choice (w), one select (`if w > 8`), one oneof (a second, op-kind choice)
SMALL = """\
space small {
    input image: [3, 32, 32]
    let w = choice(8, 16)
    let x = image -> conv(w, k=3, stride=2) as stem
    let x = (x -> relu) if w > 8 else x
    output y = x -> oneof(a: conv(4), b: maxpool(k=3, stride=1))
}
"""


def graph_of(path: Path | str, text: str | None = None) -> nx.MultiDiGraph:
    result = compile_file(path, text)
    assert result.ok, [d.message for d in result.diagnostics]
    return result.graphs[0]


def dot_svg(text: str) -> str:
    proc = subprocess.run(
        [DOT, "-Tsvg"], input=text, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "Error" not in proc.stderr, proc.stderr
    return proc.stdout


def node_ids(text: str) -> set[str]:
    """Ids of the node statements (lines `id [attrs];` outside of edges and defaults)."""
    ids = set()
    for line in text.splitlines():
        m = re.match(r'\s*(n\d+|"(?:[^"\\]|\\.)*") \[', line)
        if m and "->" not in line:
            ids.add(m.group(1))
    return ids


def edges(text: str) -> list[tuple[str, str]]:
    pattern = r'\s*(n\d+|"(?:[^"\\]|\\.)*") -> (n\d+|"(?:[^"\\]|\\.)*")'
    return [m.groups() for line in text.splitlines() if (m := re.match(pattern, line))]


def node_line(text: str, node_id: int) -> str:
    [line] = [ln for ln in text.splitlines() if ln.strip().startswith(f"n{node_id} [")]
    return line


# ---- every example


def dot_cases() -> list:
    """Every example folded at depth 2, and unfolded; dot needs minutes to lay out the
    unfolded heavy spaces (AutoPose has 5,000 nodes), so those run with the slow tests."""
    return [
        pytest.param(
            path,
            depth,
            id=f"{depth}-{path.name}",
            marks=[pytest.mark.slow] if depth is None and path.stem in HEAVY else [],
        )
        for path in EXAMPLES
        for depth in (None, 2)
    ]


@needs_dot
@pytest.mark.parametrize("path, depth", dot_cases())
def test_every_example_parses_with_dot(path: Path, depth: int | None) -> None:
    for graph in compile_file(path).graphs:
        svg = dot_svg(to_dot(graph, depth=depth))
        ET.fromstring(svg)  # well-formed XML


@pytest.mark.parametrize("path", EXAMPLE_PARAMS)
def test_dot_text_is_deterministic(path: Path) -> None:
    first = [to_dot(g) for g in compile_file(path).graphs]
    second = [to_dot(g) for g in compile_file(path).graphs]
    assert first == second


# ---- the golden picture of a small space


def test_small_space_golden() -> None:
    text = to_dot(graph_of("small.arch", SMALL))
    if os.environ.get("ARCHC_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_choice_expressions_are_written_on_the_nodes() -> None:
    graph = graph_of("small.arch", SMALL)
    text = to_dot(graph)
    stem = next(n for n in graph.nodes if graph.nodes[n]["ir"].name == "stem")
    assert 'label="stem\\nconv 3x3 /2 out=w"' in node_line(text, stem)
    assert graphviz.CHOICE_FILL in node_line(text, stem)
    assert 'label="w &gt; 8", shape="diamond"' in text  # the select
    assert 'label="oneof\\nsampled", shape="diamond"' in text  # the choose
    assert '[label="a\\n4×16×16", style="dashed"]' in text  # a candidate edge


def test_symbolic_kernel_is_written_as_the_choice() -> None:
    text = to_dot(graph_of(ROOT / "examples/spaces/mobile_small.arch"))
    assert "dw_conv\\nconv k=s1.k /2 g=" in text
    assert "out=s1.w * s1.e" in text


def test_guarded_nodes_are_dashed_with_the_guard_in_the_tooltip() -> None:
    graph = graph_of(ROOT / "examples/spaces/mobile_small.arch")
    text = to_dot(graph)
    for n in graph.nodes:
        ir = graph.nodes[n]["ir"]
        line = node_line(text, n)
        if ir.guard is True:
            assert "dashed" not in line
        else:
            assert re.search(r'style="[a-z,]*dashed"', line)
            assert "\\nguard: " in line
    assert "guard: s1.depth &gt; 1" in text


def test_a_net_without_choices_renders_plain() -> None:
    text = to_dot(graph_of(ROOT / "examples/nets/tiny.arch"))
    assert graphviz.CHOICE_FILL not in text
    assert "dashed" not in text
    assert "diamond" not in text
    assert "choices" not in text


# ---- folding by depth


def test_depth_folds_scopes_into_boxes() -> None:
    graph = graph_of(ROOT / "examples/spaces/mobile_small.arch")
    full, folded = to_dot(graph), to_dot(graph, depth=2)
    assert len(node_ids(folded)) < len(node_ids(full)) / 3
    assert '"box:s2.blocks[1]"' in node_ids(folded)
    box = next(ln for ln in folded.splitlines() if ln.strip().startswith('"box:s2.blocks[1]"'))
    assert "s2.blocks[1]\\n15 ops\\nchoices: s2.w, s2.depth, s2.k, s2.e" in box
    assert "filled,dashed" in box  # every op of the second block is guarded by s2.depth
    pairs = edges(folded)
    assert len(pairs) == len(set(pairs))  # deduplicated
    assert ('"box:s1.blocks[0]"', '"box:s1.blocks[1]"') in pairs
    last = next(n for n in graph.nodes if graph.nodes[n]["ir"].name == "s1.select_1")
    assert (f"n{last}", '"box:s2.blocks[0]"') in pairs  # from cluster s1 into cluster s2


def test_a_box_names_the_choices_made_inside_it_relative_to_it() -> None:
    graph = graph_of(ROOT / "examples/spaces/vipnas_temporal.arch")
    folded = to_dot(graph, depth=2)
    box = next(ln for ln in folded.splitlines() if ln.strip().startswith('"box:frame[2].t_vipnet"'))
    label = re.search(r'label="([^"]*)"', box).group(1)
    assert label.startswith("frame[2].t_vipnet\\n352 ops\\nchoices: fuse_at, fuse_op, s1.k")
    assert "frame[2]" not in label.split("choices:")[1]


def test_depth_keeps_edges_between_clusters() -> None:
    graph = graph_of(ROOT / "examples/spaces/mobile_small.arch")
    folded = to_dot(graph, depth=1)
    assert {'"box:s1"', '"box:s2"', '"box:s3"', '"box:deconv_head"'} <= node_ids(folded)
    pairs = set(edges(folded))
    assert {
        ('"box:s1"', '"box:s2"'),
        ('"box:s2"', '"box:s3"'),
        ('"box:s3"', '"box:deconv_head"'),
        ('"box:deconv_head"', '"out:heatmaps"'),
    } <= pairs
    assert "subgraph" not in folded


def test_depth_deeper_than_every_scope_changes_nothing() -> None:
    graph = graph_of("small.arch", SMALL)
    assert to_dot(graph, depth=10) == to_dot(graph)


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth"):
        to_dot(graph_of("small.arch", SMALL), depth=0)


# ---- escaping


def awkward_graph() -> nx.MultiDiGraph:
    """Two nodes whose names hold every character DOT or SVG could misread."""
    span = Span(file="x.arch", line=1, column=1, end_line=1, end_column=2)
    names = ['in"put\\N', 'blk "1".a<b>&amp;\\.op\nx']
    graph = nx.MultiDiGraph()
    graph.graph["facts"] = SpaceFacts(
        'we"ird\\<name>', is_net=True, inputs={names[0]: 0}, outputs={'o"u\\t<>': 1}
    )
    graph.add_node(
        0,
        ir=IRNode(
            0, "input", None, names[0], "", {"shape": (1, 2, 2)}, True, (1, 2, 2), (1, 2, 2), span
        ),
    )
    graph.add_node(
        1,
        ir=IRNode(
            1, "op", "relu", names[1], "", {"mode": '"q" <b>'}, True, (1, 2, 2), (1, 2, 2), span
        ),
    )
    graph.add_edge(0, 1, key=0, port=0)
    return graph


def test_awkward_names_are_escaped() -> None:
    text = to_dot(awkward_graph())
    assert text.startswith('digraph "we\\"ird\\\\&lt;name&gt;" {')
    assert "a&lt;b&gt;&amp;amp;\\\\.op\\nx" in text
    for line in text.splitlines():  # no raw quote inside a string, no raw < or >
        assert "<" not in line and ">" not in line.replace("->", "")


@needs_dot
def test_awkward_names_survive_dot() -> None:
    svg = dot_svg(to_dot(awkward_graph()))
    texts = {t.strip() for t in ET.fromstring(svg).itertext() if t.strip()}
    assert 'in"put\\N' in texts
    assert {'blk "1"', "a<b>&amp;\\"} <= texts  # cluster labels; `&amp;` stays literal
    assert {"op", "x"} <= texts  # the node's own name, over two lines
    assert 'relu mode="q" <b>' in texts
    assert 'o"u\\t<>' in texts


# ---- rendering


def test_render_dot_writes_the_text(tmp_path: Path) -> None:
    text = to_dot(graph_of("small.arch", SMALL))
    out = render(text, tmp_path / "small.dot")
    assert out.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.dot"]


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_render_image(tmp_path: Path, suffix: str, magic: bytes) -> None:
    out = render(to_dot(graph_of("small.arch", SMALL), depth=1), tmp_path / f"small{suffix}")
    assert out.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"small{suffix}"]


def test_render_without_dot_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(RenderError, match="apt-get install graphviz"):
        render(to_dot(graph_of("small.arch", SMALL)), tmp_path / "small.svg")
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_render_failure_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="failed"):
        render("digraph { this is not dot", tmp_path / "broken.png")
    assert list(tmp_path.iterdir()) == []


def test_render_rejects_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.svg"):
        render("digraph {}", tmp_path / "picture.jpeg")
    assert list(tmp_path.iterdir()) == []
