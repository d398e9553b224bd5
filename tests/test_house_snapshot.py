"""The rebuilt house computes what the old one did (issue 19): every example's IR nodes,
the costs of sampled configs and of both ends, and its supernet's state-dict names and
shapes equal the snapshot that the code before the rebuild (commit ad11500) wrote with
`python -m tests.house_snapshot`. A change meant to alter one of these must rewrite
the snapshot in the same commit, and say why."""

from __future__ import annotations

import json

import pytest

from tests.house_snapshot import EXAMPLES, ROOT, SNAPSHOT, snapshot

EXPECTED = json.loads(SNAPSHOT.read_text())


def test_the_snapshot_covers_every_example() -> None:
    assert sorted(EXPECTED) == [str(p.relative_to(ROOT)) for p in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_ir_costs_and_state_dict_names_are_unchanged(path) -> None:
    assert snapshot(path) == EXPECTED[str(path.relative_to(ROOT))]
