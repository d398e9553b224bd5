"""DARTS's derivation of a discrete cell from alpha (Liu et al. 2019, `genotype()`):
for every hidden node keep the `k` incoming edges whose strongest non-`none`
candidate weighs most, each edge at that candidate; the other edges get `none`.

Why edges are found by name: a cell's edges are the choices `prefix[j, t]`
(source j, node t), the convention of std.cells and std.darts, so the edges of
node t are the choices that differ only in j. One alpha list shared by many
cells is one set of choices, derived once. Choices without such an index pair
(a PoseNFS input weight beta, a width) take their argmax. A dropped edge needs a
`none` (or `zero`) candidate to be dropped with: without one the derivation
cannot express the cell and says so. Torch-free: probabilities in, config out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

NONE_LABELS = ("none", "zero")
_EDGE = re.compile(r"^(?P<prefix>[^\[]*)\[(?P<j>-?\d+),\s*(?P<t>-?\d+)\](?P<rest>.*)$")


class DerivationError(ValueError):
    """The alphas cannot be derived the DARTS way (no `none` candidate to drop with)."""


def node_edges(choices: Sequence[str]) -> dict[str, list[str]]:
    """Node key (`prefix[*, t]rest`) -> its edge choices, in order of j."""
    nodes: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for name in choices:
        m = _EDGE.match(name)
        if m:
            key = f"{m['prefix']}[*, {m['t']}]{m['rest']}"
            nodes[key].append((int(m["j"]), name))
    return {key: [name for _, name in sorted(edges)] for key, edges in nodes.items()}


def darts_derive(
    probabilities: Mapping[str, Sequence[float]],
    labels: Mapping[str, Sequence[Any]],
    k: int = 2,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(decisions, kept): a candidate for every choice of `probabilities`, and per
    node the edges kept. Ties go to the earlier edge and candidate, as a stable sort
    in DARTS does."""
    if k < 1:
        raise DerivationError(f"keep at least one edge per node, not {k}")
    decisions = {c: labels[c][_argmax(p)] for c, p in probabilities.items()}
    kept: dict[str, list[str]] = {}
    for node, edges in node_edges(list(probabilities)).items():
        strength = {e: _strongest(probabilities[e], labels[e], e) for e in edges}
        ranked = sorted(edges, key=lambda e: -strength[e][0])
        kept[node] = sorted(ranked[:k], key=edges.index)
        for edge in edges:
            if edge in kept[node]:
                decisions[edge] = labels[edge][strength[edge][1]]
            else:
                decisions[edge] = _none_label(labels[edge], edge)
    return decisions, kept


def _strongest(probs: Sequence[float], labels: Sequence[Any], edge: str) -> tuple[float, int]:
    """(weight, index) of the strongest candidate that is not `none`."""
    real = [
        (p, i)
        for i, (p, label) in enumerate(zip(probs, labels, strict=True))
        if str(label) not in NONE_LABELS
    ]
    if not real:
        raise DerivationError(f"edge `{edge}` has only `none` candidates")
    best = max(p for p, _ in real)
    return best, next(i for p, i in real if p == best)


def _none_label(labels: Sequence[Any], edge: str) -> Any:
    for label in labels:
        if str(label) in NONE_LABELS:
            return label
    raise DerivationError(
        f"edge `{edge}` has no `none` (or `zero`) candidate, so the DARTS derivation "
        "cannot drop it; add `zero` to its candidates, or derive with argmax"
    )


def _argmax(probs: Sequence[float]) -> int:
    best = max(probs)
    return next(i for i, p in enumerate(probs) if p == best)
