"""DARTS's derivation: per cell node the k edges whose strongest non-`none` candidate
weighs most, at that candidate (quark0/darts `Network.genotype`), the rest `none`."""

from __future__ import annotations

import pytest

from archc.compiler.space.darts_derive import DerivationError, darts_derive, node_edges

OPS = ("none", "max_pool_3x3", "skip_connect", "sep_conv_3x3")


def genotype(weights: list[list[float]], steps: int, k: int = 2) -> list[tuple[str, int]]:
    """DARTS's `_parse`, written from the paper's code: edges of node i are rows
    start .. start + i + 2 of `weights`."""
    gene, start = [], 0
    for i in range(steps):
        rows = weights[start : start + i + 2]
        edges = sorted(
            range(i + 2), key=lambda x: -max(w for j, w in enumerate(rows[x]) if OPS[j] != "none")
        )[:k]
        for j in edges:
            best = max((w, -n) for n, w in enumerate(rows[j]) if OPS[n] != "none")
            gene.append((OPS[-best[1]], j))
        start += i + 2
    return gene


def test_edges_are_grouped_by_node_in_order_of_their_source():
    names = ["a[1, 0]", "a[0, 0]", "a[2, 1].oneof", "a[0, 1].oneof", "beta", "a[1, 1].oneof"]
    assert node_edges(names) == {
        "a[*, 0]": ["a[0, 0]", "a[1, 0]"],
        "a[*, 1].oneof": ["a[0, 1].oneof", "a[1, 1].oneof", "a[2, 1].oneof"],
    }


def test_the_derivation_is_dartss_genotype():
    import random

    rng = random.Random(3)
    for _ in range(50):
        steps = 3
        rows = [[rng.random() for _ in OPS] for t in range(steps) for _ in range(2 + t)]
        names = [f"n[{j},{t}]" for t in range(steps) for j in range(2 + t)]
        probs = dict(zip(names, rows, strict=True))
        decisions, kept = darts_derive(probs, dict.fromkeys(names, OPS))
        want = genotype(rows, steps)
        got = [(decisions[edge], int(edge[2])) for t in range(steps) for edge in kept[f"n[*, {t}]"]]
        assert sorted(got) == sorted(want)
        for t in range(steps):
            assert len(kept[f"n[*, {t}]"]) == 2
            dropped = [n for n in names if n.endswith(f",{t}]") and n not in kept[f"n[*, {t}]"]]
            assert all(decisions[n] == "none" for n in dropped)


def test_none_never_wins_and_other_choices_take_their_argmax():
    probs = {"e[0, 0]": [0.9, 0.05, 0.05], "e[1, 0]": [0.8, 0.15, 0.05], "w": [0.2, 0.8]}
    labels = {"e[0, 0]": ("zero", "skip", "sep"), "e[1, 0]": ("zero", "skip", "sep"), "w": (8, 16)}
    decisions, kept = darts_derive(probs, labels, k=1)
    assert decisions == {"e[0, 0]": "zero", "e[1, 0]": "skip", "w": 16}
    assert kept == {"e[*, 0]": ["e[1, 0]"]}


def test_an_edge_without_none_cannot_be_dropped():
    probs = {"e[0, 0]": [0.5, 0.5], "e[1, 0]": [0.9, 0.1]}
    labels = dict.fromkeys(probs, ("skip", "sep"))
    with pytest.raises(DerivationError, match=r"edge `e\[0, 0\]` has no `none` \(or `zero`\)"):
        darts_derive(probs, labels, k=1)
    assert darts_derive(probs, labels, k=2)[0] == {"e[0, 0]": "skip", "e[1, 0]": "skip"}
    with pytest.raises(DerivationError, match="at least one edge"):
        darts_derive(probs, labels, k=0)
