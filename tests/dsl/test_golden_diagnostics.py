"""Golden tests of diagnostics: one realistic mistake per file, the full `archc check` output.

Each `tests/fixtures/bad/NNN_name.arch` holds one user mistake (the hundreds
digit is the stage: 1 syntax, 2 imports, 3 names, 4 calls, 5 choices,
6 statements, 7 constraints, 8 evaluation, 9 several errors at once) and
`NNN_name.expected` the exact text `archc check NNN_name.arch` prints on stderr
when run from that folder: location, message, source line and caret, notes
and hint. Files under `bad/imports/` are only imported by fixtures.

To regenerate after a deliberate change to a message, run

    ARCHC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/dsl/test_golden_diagnostics.py

and review the diff of the `.expected` files like any other change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from archc.cli.main import main

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "bad"
FIXTURES = sorted(BAD.glob("*.arch"))
UPDATE = os.environ.get("ARCHC_UPDATE_GOLDEN") == "1"
HEADER = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): error\[E\d{3}\]: \S", re.M)
ERROR = re.compile(r": error\[E\d{3}\]: ")


def _check(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """`archc check NAME` in-process, from the fixture folder (stable relative paths)."""
    monkeypatch.chdir(BAD)
    capsys.readouterr()
    code = main(["check", name])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_enough_distinct_fixtures():
    assert len(FIXTURES) >= 35
    stems = [p.stem.split("_", 1)[1] for p in FIXTURES]
    assert len(set(stems)) == len(stems), "two fixtures describe the same mistake"
    numbers = [p.stem.split("_", 1)[0] for p in FIXTURES]
    assert all(re.fullmatch(r"\d{3}", n) for n in numbers)
    assert len(set(numbers)) == len(numbers)


def test_no_orphan_expected_files():
    orphans = [p.name for p in BAD.glob("*.expected") if not p.with_suffix(".arch").exists()]
    assert not orphans


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_golden(fixture: Path, monkeypatch, capsys):
    code, out, err = _check(fixture.name, monkeypatch, capsys)
    expected_file = fixture.with_suffix(".expected")
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 1, f"expected exit code 1, got {code}\n{err}"
    assert out == ""
    # every diagnostic starts `path:line:col: error[CODE]: message`, the first one first
    assert HEADER.match(err), err
    if UPDATE:
        expected_file.write_text(err)
    assert expected_file.exists(), (
        f"{expected_file.name} is missing; run with ARCHC_UPDATE_GOLDEN=1 to create it"
    )
    assert err == expected_file.read_text()


def test_every_error_is_located_with_source_and_caret(monkeypatch, capsys):
    """Each `error:` line names a file:line:col and is followed by its source line and caret."""
    for fixture in FIXTURES:
        _, _, err = _check(fixture.name, monkeypatch, capsys)
        lines = err.splitlines()
        for i, line in enumerate(lines):
            if not ERROR.search(line):
                continue
            m = HEADER.match(line)
            assert m, f"{fixture.name}: unlocated error {line!r}"
            gutter, caret = lines[i + 1], lines[i + 2]
            assert re.match(rf"\s*{m['line']} \| ", gutter), f"{fixture.name}: {gutter!r}"
            assert re.fullmatch(r"\s*\| *\^+", caret), f"{fixture.name}: {caret!r}"
            assert caret.index("^") - caret.index("|") - 2 == int(m["col"]) - 1


def test_several_independent_errors_in_one_run(monkeypatch, capsys):
    code, _, err = _check("901_several_errors.arch", monkeypatch, capsys)
    assert code == 1
    headers = HEADER.findall(err)
    assert len(headers) >= 3, err
    assert len({(line, col) for _, line, col in headers}) == len(headers)


def test_several_files_in_one_run(monkeypatch, capsys):
    names = [p.name for p in FIXTURES[:3]]
    monkeypatch.chdir(BAD)
    capsys.readouterr()
    code = main(["check", *names])
    err = capsys.readouterr().err
    assert code == 1
    assert err.rstrip().endswith("3 of 3 files have errors")
    for name in names:
        assert err.count(f"{name}:") >= 1
