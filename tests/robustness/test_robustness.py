"""The hostile-input corpus (`cases.py`, `corpus/`): every case ends clean. Cases
whose command imports torch and builds a net are cheap here (one tiny net); the
whole corpus runs in well under a minute on two cores."""

from __future__ import annotations

import pytest

from tests.robustness.cases import SLOW_S, all_cases, run_case

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_hostile_input_gets_a_clean_answer(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcome = run_case(case, tmp_path)
    assert outcome.clean, f"{case.id}: {outcome.problems}\n{outcome.stderr[:2000]}"


def test_the_corpus_is_the_size_the_docs_say():
    assert len(CASES) >= 250 and SLOW_S == 2
