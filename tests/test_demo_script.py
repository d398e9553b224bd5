"""`make demo` (scripts/demo.py) end to end in its smoke size: every step runs, in the
order the README tells, and the final table and report are there. The real size takes
about ten minutes and is measured, not tested (docs/demo.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["data", "supernet", "baseline", "search", "finetune", "export-found", "report"]


@pytest.mark.slow
def test_the_demo_runs_every_step_and_ends_with_the_table(tmp_path: Path) -> None:
    archc = Path(sys.executable).with_name("archc")
    done = subprocess.run(
        [sys.executable, "scripts/demo.py", "--smoke", "--out", str(tmp_path / "demo")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "ARCHC": str(archc)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for step in STEPS:
        assert f"] {step}: archc " in out and f"] {step}: done in " in out
    assert "found (searched)" in out and "tiny (hand-designed)" in out
    demo = tmp_path / "demo"
    assert (demo / "report.html").stat().st_size > 10_000
    assert (demo / "found.onnx").is_file() and (demo / "baseline.onnx").is_file()
    assert {p.name for p in (demo / "pictures").iterdir()} >= {
        "space.svg",
        "found.svg",
        "pareto.png",
    }
