"""`archc supernet train` and `archc search` end to end on a small space: the files a
search leaves, `kill -9` at random moments resuming to the uninterrupted run's trials,
and bad input failing with one clear line and nothing written."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

import archc
from archc.cli import main as cli
from archc.compiler.space import Config
from archc.torch import build_module
from tests.runtime.search.search_fixtures import synth_data as make_synth
from tests.runtime.search.search_fixtures import write_space
from tests.runtime.train.train_fixtures import run_archc

SEARCH = [
    "--evaluations",
    "10",
    "--batch",
    "3",
    "--population",
    "4",
    "--tournament",
    "2",
    "--calibration",
    "16",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("search")
    write_space(folder)
    make_synth(folder / "data")
    return folder


@pytest.fixture(scope="module")
def supernet(work) -> Path:
    proc = run_archc(
        [
            "supernet",
            "train",
            "small.arch",
            "--data",
            "data",
            "--out",
            "sn",
            "--epochs",
            "2",
            "--batch",
            "8",
            "--workers",
            "0",
            "--threads",
            "1",
            "--calibration",
            "16",
            "--deterministic",
        ],
        work,
    )
    assert proc.returncode == 0, proc.stderr
    return work / "sn"


@pytest.fixture(scope="module")
def searched(work, supernet) -> Path:
    proc = run_archc(
        [
            "search",
            "small.arch",
            "--supernet",
            "sn",
            "--data",
            "data",
            "--out",
            "straight",
            "--max-macs",
            "8M",
            *SEARCH,
        ],
        work,
    )
    assert proc.returncode == 0, proc.stderr
    return work / "straight"


def _trials(folder: Path) -> list[dict]:
    lines = (folder / "trials.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in lines]


def test_a_supernet_run_records_the_sandwich_and_validates_both_ends(supernet) -> None:
    config = json.loads((supernet / "config.json").read_text())
    assert config["net"]["sandwich"] == {
        "random": 2,
        "distill": True,
        "calibration": 16,
        "realise": {},
    }
    lines = [json.loads(x) for x in (supernet / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert all(r["AP"] is not None and r["AP_smallest"] is not None for r in lines)
    assert all(r["loss_random"] > 0 for r in lines)


def test_a_search_leaves_its_folder(searched, work) -> None:
    names = sorted(p.name for p in searched.iterdir())
    assert names == [
        ".lock",
        "best",
        "best.json",
        "front.json",
        "manifest.json",
        "pareto.png",
        "trials.jsonl",
    ]
    trials = _trials(searched)
    space = archc.load(work / "small.arch")
    assert [t["index"] for t in trials] == list(range(10))
    for t in trials:
        cost = space.cost(t["config"])
        assert (t["params"], t["macs"]) == (cost.params, cost.macs) and t["macs"] <= 8e6
        assert t["R"] == 16 and t["V"] == 12 and 0 <= t["AP"] <= 1
    best = json.loads((searched / "best.json").read_text())["best"]
    assert best["score"] == max(t["score"] for t in trials)
    config = Config.load(searched / "best" / "config.json")
    assert dict(config) == best["config"]
    weights = load_file(searched / "best" / "weights.safetensors")
    derived = build_module(space.derive(config)).state_dict()
    assert weights.keys() == derived.keys()
    assert (searched / "best" / "model.onnx").stat().st_size > 1000
    manifest = json.loads((searched / "manifest.json").read_text())
    assert manifest["options"]["max_macs"] == 8e6 and "small.arch" in "".join(manifest["sources"])
    assert manifest["inputs"]["supernet"]["path"].endswith("last.safetensors")
    front = json.loads((searched / "front.json").read_text())["front"]
    assert front and all(f["index"] in range(10) for f in front)


def _kill_when(proc: subprocess.Popen, folder: Path, trials: int, timeout: float = 120) -> None:
    """SIGKILL `proc` once `folder/trials.jsonl` holds `trials` lines (or it ends)."""
    end = time.monotonic() + timeout
    log = folder / "trials.jsonl"
    while time.monotonic() < end and proc.poll() is None:
        if log.is_file() and log.read_bytes().count(b"\n") >= trials:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _popen(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "archc", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_search_killed_at_random_moments_resumes_to_the_same_trials(searched, work) -> None:
    rng = random.Random()
    args = [
        "search",
        "small.arch",
        "--supernet",
        "sn",
        "--data",
        "data",
        "--out",
        "killed",
        "--max-macs",
        "8M",
        *SEARCH,
    ]
    for attempt in range(2):
        extra = ["--resume"] if attempt else []
        proc = _popen([*args, *extra], work)
        _kill_when(proc, work / "killed", rng.randint(1 + 4 * attempt, 5 + 4 * attempt))
    resumed = run_archc([*args, "--resume"], work)
    assert resumed.returncode == 0, resumed.stderr
    assert _trials(work / "killed") == _trials(searched)
    for name in ("best.json", "front.json", "best/config.json"):
        assert _timeless(work / "killed" / name) == _timeless(searched / name), name


def _timeless(path: Path):
    """A JSON document without its wall times (the only thing a resume may change)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "seconds"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(path.read_text()))


def test_supernet_training_killed_mid_epoch_resumes_exactly(supernet, work) -> None:
    args = [
        "supernet",
        "train",
        "small.arch",
        "--data",
        "data",
        "--epochs",
        "2",
        "--batch",
        "8",
        "--workers",
        "0",
        "--threads",
        "1",
        "--calibration",
        "16",
        "--deterministic",
    ]
    step = random.Random().randint(2, 9)  # 5 steps an epoch
    killed = run_archc([*args, "--out", "sn_killed"], work, kill_after=step)
    assert killed.returncode == -signal.SIGKILL
    resumed = run_archc(["supernet", "train", "small.arch", "--out", "sn_killed", "--resume"], work)
    assert resumed.returncode == 0, resumed.stderr
    for name in ("last.safetensors", "best.safetensors"):
        assert (work / "sn_killed" / name).read_bytes() == (supernet / name).read_bytes(), step


def _fails(argv: list[str], capsys, code: int = 1) -> str:
    if code == 2:  # a bad command line: argparse exits
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
    else:
        assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    return err.strip().splitlines()[-1]


def test_bad_input_fails_with_one_line_and_writes_nothing(
    searched, supernet, work, tmp_path, capsys
) -> None:
    space, data = str(work / "small.arch"), str(work / "data")
    base = ["search", space, "--supernet", str(supernet), "--data", data, *SEARCH]
    other = write_space(
        tmp_path,
        (work / "small.arch").read_text().replace("choice(16, 24, 32)", "choice(16, 24, 40)"),
        "other.arch",
    )
    out = tmp_path / "out"
    assert _fails([*base[:1], str(other), *base[2:], "--out", str(out)], capsys).startswith(
        "archc: the supernet does not fit `small`: "
    )
    assert not out.exists() or not any(p.name != ".lock" for p in out.iterdir())
    msg = _fails([*base, "--out", str(tmp_path / "o2"), "--max-macs", "1M"], capsys)
    assert msg == (
        "archc: no config of `small` has MACs <= 1,000,000: the smallest achievable is 1,769,472"
    )
    assert not (tmp_path / "o2").exists()
    assert _fails([*base, "--out", str(tmp_path / "o3"), "--max-latency", "3"], capsys) == (
        "archc: --max-latency needs --lut TABLE (a latency table: `archc lut`)"
    )
    assert _fails([*base, "--out", str(searched)], capsys).startswith(
        f"archc: {searched} holds another search ("
    )
    assert _fails([*base, "--out", str(tmp_path / "none"), "--resume"], capsys) == (
        f"archc: {tmp_path / 'none'}: no search to resume (no manifest.json)"
    )
    assert _fails(
        [*base[:-2], "--threads", "0", "--out", str(tmp_path / "o4")], capsys, code=2
    ).endswith("must be >= 1, got 0")


def test_a_resume_with_other_options_names_them(searched, supernet, work, capsys) -> None:
    args = [
        "search",
        str(work / "small.arch"),
        "--supernet",
        str(supernet),
        "--data",
        str(work / "data"),
        "--out",
        str(searched),
        "--resume",
        *SEARCH,
    ]
    msg = _fails([*args, "--max-macs", "7M"], capsys)
    assert msg == (
        f"archc: {searched}: --resume continues the same search; option max_macs: "
        "7000000 (the search has 8000000)"
    )


def test_a_damaged_trial_log_names_the_line(searched, supernet, work, tmp_path, capsys) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(searched, copy)
    lines = (copy / "trials.jsonl").read_text().splitlines(keepends=True)
    (copy / "trials.jsonl").write_text("".join(lines[:4]) + "garbage\n" + "".join(lines[5:]))
    args = [
        "search",
        str(work / "small.arch"),
        "--supernet",
        str(supernet),
        "--data",
        str(work / "data"),
        "--out",
        str(copy),
        "--resume",
        "--max-macs",
        "8M",
        *SEARCH,
    ]
    assert _fails(args, capsys) == (
        f"archc: {copy / 'trials.jsonl'}:5: not a JSON trial record; the log is damaged "
        "(remove that line and the ones after it to resume from the trials before it)"
    )


def test_the_found_subnet_scores_as_in_the_search_and_fine_tunes(searched, work) -> None:
    """best/ holds what the search measured: eval of its weights gives the trial's AP."""
    best = json.loads((searched / "best.json").read_text())["best"]
    scored = run_archc(
        [
            "eval",
            "small.arch",
            "--config",
            "straight/best/config.json",
            "--weights",
            "straight/best/weights.safetensors",
            "--data",
            "data",
            "--json",
            "--threads",
            "1",
            "--workers",
            "0",
        ],
        work,
    )
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["AP"] == pytest.approx(best["AP"], abs=1e-9)
    tuned = run_archc(
        [
            "train",
            "small.arch",
            "--init",
            "straight/best",
            "--data",
            "data",
            "--out",
            "tuned",
            "--epochs",
            "1",
            "--batch",
            "8",
            "--workers",
            "0",
            "--threads",
            "1",
            "--lr",
            "1e-4",
        ],
        work,
    )
    assert tuned.returncode == 0, tuned.stderr
    net = json.loads((work / "tuned" / "config.json").read_text())["net"]
    assert net["choices"]["choices"] == best["config"]
    assert net["init"] == str((searched / "best" / "weights.safetensors").resolve())
