"""bench/ablations/: the verdict of a claim from per-seed results (fast), and every
ablation script end to end at its smoke size, with a killed run resumed (slow). The
real sizes take up to an hour each and are measured, not tested (docs/results.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench" / "ablations"))
from common import Claim, verdict  # noqa: E402

SCRIPTS = ["searched_vs_handmade", "efficientpose", "posenfs", "autopose", "vipnas"]
CLAIM = Claim("paper", "a beats b", "a", "b")


def rows(a: list[float], b: list[float], macs=(10e6, 20e6)) -> list[dict]:
    return [{"arm": "a", "seed": i, "AP": ap, "macs": macs[0]} for i, ap in enumerate(a)] + [
        {"arm": "b", "seed": i, "AP": ap, "macs": macs[1]} for i, ap in enumerate(b)
    ]


@pytest.mark.parametrize(
    ("a", "b", "start"),
    [
        ([0.5, 0.6, 0.55], [0.3, 0.4, 0.35], "held (0.550 vs 0.350, spreads apart)"),
        ([0.5, 0.6, 0.55], [0.45, 0.52, 0.5], "not separated (0.550 vs 0.490"),
        ([0.3, 0.4], [0.5, 0.6], "did not hold (0.350 vs 0.550)"),
        ([0.5], [0.5], "tied (0.500 vs 0.500)"),
        ([0.6], [0.5], "held on one seed (0.600 vs 0.500)"),
        ([0.6], [], "not measured"),
    ],
)
def test_a_claim_holds_only_when_the_spreads_do_not_overlap(a, b, start):
    assert verdict(CLAIM, rows(a, b)).startswith(start)


def test_dominance_needs_fewer_macs_in_every_seed():
    cheaper = Claim("archc", "a dominates b", "a", "b", cheaper=True)
    assert verdict(cheaper, rows([0.6, 0.7], [0.3, 0.4])).startswith("held")
    costly = rows([0.6, 0.7], [0.3, 0.4], macs=(30e6, 20e6))
    assert verdict(cheaper, costly) == "did not hold: more MACs (30.0M vs 20.0M)"


def run(script: str, out: Path) -> subprocess.CompletedProcess:
    archc = Path(sys.executable).with_name("archc")
    return subprocess.run(
        [
            sys.executable,
            f"bench/ablations/{script}.py",
            "--smoke",
            "--seeds",
            "0",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "ARCHC": str(archc)},
    )


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_every_ablation_runs_and_gives_a_verdict_per_claim(tmp_path: Path, script: str):
    done = run(script, tmp_path / script)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = (tmp_path / script / "results.md").read_text()
    module = __import__(script)
    for claim in module.CLAIMS:
        assert f"| {claim.source}: {claim.text} | " in table
        assert f"| {claim.better} | " in table and f"| {claim.worse} | " in table


@pytest.mark.slow
def test_a_rerun_redoes_only_the_arms_not_logged(tmp_path: Path):
    out = tmp_path / "run"
    assert run("searched_vs_handmade", out).returncode == 0
    log = out / "results.jsonl"
    kept = [line for line in log.read_text().splitlines() if '"arm": "tiny"' not in line]
    log.write_text("\n".join(kept) + "\n")  # as if killed while tiny trained
    again = run("searched_vs_handmade", out)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "tiny-seed0: archc train" in again.stdout
    assert "found-supernet" not in again.stdout and "efficientpose_a-seed0" not in again.stdout
    arms = [json.loads(line)["arm"] for line in log.read_text().splitlines()]
    assert sorted(arms) == sorted(["found", "tiny", "efficientpose_a", "simplebaseline_reduced"])
