"""What must not change when the house is rebuilt (issue 19): per example, the IR's
nodes, the costs of sampled configs and the ends, and the supernet's state-dict names
and shapes. `python -m tests.house_snapshot OUT.json` writes the snapshot;
`tests/test_house_snapshot.py` compares the code of today with the committed one,
which was written by the code before the rebuild."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*/*.arch"))
SNAPSHOT = ROOT / "tests" / "fixtures" / "house_snapshot.json"
SEEDS = range(4)


def _digest(rows: list) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def ir_digest(space) -> str:
    """The nodes as the compiler made them: kind, op, names, attributes, shapes, edges."""
    graph = space.graph
    rows = []
    for n in sorted(graph.nodes):
        node = graph.nodes[n]["ir"]
        attrs = {k: str(v) for k, v in sorted(node.attrs.items())}
        producers = sorted((k, src) for src, _, k in graph.in_edges(n, keys=True))
        rows.append([n, node.kind, node.op, node.name, node.weight_name, attrs])
        rows.append([str(node.shape), list(node.max_shape), str(node.guard), producers])
    return _digest(rows)


def costs(space) -> list:
    configs = [space.sample(seed) for seed in SEEDS] if len(space.table) else [{}]
    rows = [[space.cost(c).params, space.cost(c).macs] for c in configs]
    if len(space.table):
        for end in (space.smallest(), space.largest()):
            rows.append([space.cost(end).params, space.cost(end).macs])
    return rows


def state_dict(space) -> str:
    from archc.torch import build_supernet

    net = build_supernet(space)
    return _digest([[k, list(v.shape)] for k, v in net.state_dict().items()])


def snapshot(path: Path, with_weights: bool = True) -> dict:
    import archc

    space = archc.load(path)
    out = {"ir": ir_digest(space), "costs": costs(space)}
    if with_weights:
        out["state_dict"] = state_dict(space)
    return out


def main(out: str) -> None:
    data = {str(p.relative_to(ROOT)): snapshot(p) for p in EXAMPLES}
    Path(out).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
