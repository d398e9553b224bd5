"""`archc search --strategy darts|sync|gumbel` end to end on a small weighted space: the
run folder, the derived subnet that `archc info` and `archc export` accept, kill -9
resuming to the uninterrupted run, and bad input failing at once with one clear line."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from safetensors.torch import load_file

from archc.cli import main as cli
from tests.runtime.search.search_fixtures import synth_data as make_synth
from tests.runtime.search.search_fixtures import write_space
from tests.runtime.train.train_fixtures import run_archc

TINY = """\
import std

space tiny_darts {
    "Two mixed edges at 64 x 48 for the differentiable search tests."
    input image: [3, 64, 48]
    let x = image -> conv(16, k=3, stride=2) -> bn -> relu
    let x = x -> oneof(sep_conv_3x3, avg_pool_3x3, skip, zero, realise=weighted) as e1
    let x = x -> conv(16, k=3, stride=2) -> bn -> relu
    let x = x -> oneof(sep_conv_3x3, dil_conv_3x3, skip, realise=weighted) as e2
    output heatmaps = x -> deconv(16, k=4) -> bn -> relu -> conv(17, k=1, bias=true)
}
"""

POLICY = """\
import std

space tiny_policy {
    "Two switched branches and a Gumbel edge at 64 x 48 for the controller tests."
    input image: [3, 64, 48]
    let x = image -> conv(16, k=3, stride=2) -> bn -> relu
    let on = [choice(false, true, realise=policy) as branch[b] for b in range(2)]
    let a = (x -> oneof(sep_conv_3x3, skip, zero, realise=gumbel) as e1) if on[0] else x
    let low = x -> conv(16, k=3, stride=2) -> bn -> relu
    let b = (low -> conv(16, k=3) -> bn -> relu) if on[1] else low
    output heatmaps = add([a, b -> upsample(2)]) -> conv(17, k=1, bias=true)
}
"""

CELL = """\
import std

space tiny_cell {
    "One two-node cell with DARTS edges a[j, t] at 64 x 48 for --derive darts."
    input image: [3, 64, 48]
    let x = image -> conv(16, k=3, stride=4) -> bn -> relu
    let a = [
        oneof(sep_conv_3x3, avg_pool_3x3, skip, zero, realise=weighted) as a[j, t]
        for t in range(2)
        for j in range(1 + t)
    ]
    output heatmaps = x -> cell(a, nodes=2, out=16) -> conv(17, k=1, bias=true)
}
"""

RUN = [
    "--data",
    "data",
    "--epochs",
    "3",
    "--batch",
    "6",
    "--workers",
    "0",
    "--threads",
    "1",
    "--calibration",
    "8",
    "--deterministic",
    "--no-flip",
]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gradient")
    write_space(folder, TINY, "tiny.arch")
    write_space(folder, POLICY, "policy.arch")
    write_space(folder, CELL, "cell.arch")
    write_space(folder, CELL.replace("skip, zero,", "skip,"), "cell_no_none.arch")
    write_space(folder)  # small.arch: elastic choices only
    make_synth(folder / "data", train=24, val=6)
    return folder


def _search(work: Path, out: str, *extra: str, kill_after=None):
    args = ["search", "tiny.arch", "--strategy", "darts", *RUN, "--out", out, *extra]
    return run_archc(args, work, kill_after=kill_after)


@pytest.fixture(scope="module")
def searched(work) -> Path:
    proc = _search(work, "straight", "--warmup", "1", "--cost-weight", "0.1", "--max-macs", "2.2M")
    assert proc.returncode == 0, proc.stderr
    return work / "straight"


def test_a_darts_search_leaves_a_training_run_and_the_architecture_path(searched) -> None:
    names = {p.name for p in searched.iterdir()}
    assert {"config.json", "metrics.jsonl", "alphas.jsonl", "alphas.png", "best.json"} <= names
    alphas = [json.loads(x) for x in (searched / "alphas.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in alphas] == [0, 1, 2, 3]
    assert alphas[0]["alphas"]["e1"] == dict.fromkeys(
        ("sep_conv_3x3", "avg_pool_3x3", "skip", "zero"), 0.25
    )
    assert alphas[1]["alphas"] == alphas[0]["alphas"]  # warm-up: the weights only
    assert alphas[2]["alphas"] != alphas[1]["alphas"]
    metrics = [json.loads(x) for x in (searched / "metrics.jsonl").read_text().splitlines()]
    assert all(r["expected_cost"] > 0 for r in metrics)
    assert "arch_loss" not in metrics[0] and metrics[1]["arch_loss"] > 0
    best = json.loads((searched / "best.json").read_text())
    assert best["config"] == alphas[-1]["argmax"]
    assert (searched / "best" / "model.onnx").is_file()
    assert set(load_file(searched / "best" / "weights.safetensors")) > set()


def test_the_derived_config_is_accepted_by_info_export_and_train(searched, work) -> None:
    config = str(searched / "best" / "config.json")
    info = run_archc(["info", "tiny.arch", "--config", config], work)
    assert info.returncode == 0, info.stderr
    out = work / "derived.onnx"
    export = run_archc(["export", "tiny.arch", "--config", config, "-o", str(out)], work)
    assert export.returncode == 0, export.stderr
    assert out.is_file()
    init = str(searched / "best")
    tuned = run_archc(
        [
            *("train", "tiny.arch", "--init", init, "--out", "tuned", *RUN[:2]),
            *("--epochs", "1", "--limit-train", "4", "--limit-val", "2", "--batch", "4"),
        ],
        work,
    )
    assert tuned.returncode == 0, tuned.stderr
    assert (
        json.loads((work / "tuned" / "config.json").read_text())["net"]["choices"]["choices"]
        == (json.loads((searched / "best.json").read_text())["config"])
    )


def test_kill_9_then_resume_ends_where_the_uninterrupted_search_ends(searched, work) -> None:
    extra = ("--warmup", "1", "--cost-weight", "0.1", "--max-macs", "2.2M")
    killed = _search(work, "killed", *extra, kill_after=7)  # in epoch 2 of 3
    assert killed.returncode == -signal.SIGKILL
    resumed = run_archc(
        [
            "search",
            "tiny.arch",
            "--strategy",
            "darts",
            "--out",
            "killed",
            "--resume",
            "--data",
            "data",
        ],
        work,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stdout
    killed_dir = work / "killed"
    assert (killed_dir / "alphas.jsonl").read_text() == (searched / "alphas.jsonl").read_text()
    for name in ("last.safetensors", "best/weights.safetensors"):
        a, b = load_file(killed_dir / name), load_file(searched / name)
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), name
    assert (killed_dir / "best.json").read_text() == (searched / "best.json").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["small.arch", "--strategy", "darts"], "--realise 'PATTERN=weighted'"),
        (
            ["tiny.arch", "--strategy", "gumbel"],
            "--realise 'PATTERN=gumbel'",
        ),
        (
            ["tiny.arch", "--strategy", "darts", "--cost-weight", "1", "--cost-target", "1000"],
            "the smallest achievable is 1,",
        ),
        (
            ["tiny.arch", "--strategy", "darts", "--cost-weight", "1"],
            "needs a target",
        ),
        (["tiny.arch", "--strategy", "sync", "--held-out", "0.3"], "no --held-out"),
        (["tiny.arch", "--strategy", "darts", "--held-out", "0"], "use --strategy sync"),
        (
            ["tiny.arch", "--strategy", "darts", "--population", "4"],
            "--population: only for a one-shot",
        ),
        (
            ["tiny.arch", "--strategy", "evolution", "--epochs", "2"],
            "--epochs: only for a differentiable",
        ),
        (["tiny.arch", "--strategy", "evolution"], "give --supernet RUN"),
        (["tiny.arch", "--strategy", "darts", "--zero-one", "10"], "--realise 'PATTERN=sigmoid'"),
        (["tiny.arch", "--strategy", "reinforce"], "--realise 'PATTERN=policy'"),
        (
            ["policy.arch", "--strategy", "reinforce", "--reward", "loss", "--held-out", "0"],
            "held-out",
        ),
        (["policy.arch", "--strategy", "darts", "--controller-updates", "3"], "only for"),
        (["policy.arch", "--strategy", "darts"], "e1 is unused under the fixed choices"),
        (
            ["tiny.arch", "--strategy", "darts", "--derive", "darts"],
            "--derive darts: no mixed choice is a cell edge named NAME[j, t]",
        ),
        (
            ["cell_no_none.arch", "--strategy", "darts", "--derive", "darts", "--keep-edges", "1"],
            "--derive darts: edge `a[1,1]` has no `none` (or `zero`) candidate",
        ),
    ],
)
def test_bad_input_fails_at_once_and_leaves_nothing(work, args, message, capsys, monkeypatch):
    """In process (the subprocess tests above cover the real entry point)."""
    monkeypatch.chdir(work)
    out = f"bad{abs(hash(tuple(args))) % 10_000}"
    code = cli.main(["search", *args, "--data", "data", "--out", out])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err, err
    assert not (work / out).exists()


BUDGET = ["--data", "data", "--epochs", "1", "--batch", "8", "--threads", "1", "--no-flip"]


def test_random_search_at_equal_budget_trains_subnets_until_the_budget_is_spent(work) -> None:
    args = ["search", "small.arch", "--strategy", "random", "--out", "budget", *BUDGET]
    proc = run_archc([*args, "--budget-seconds", "2", "--max-macs", "8M"], work)
    assert proc.returncode == 0, proc.stderr
    folder = work / "budget"
    trials = [json.loads(x) for x in (folder / "trials.jsonl").read_text().splitlines()]
    spent = [sum(t["seconds"] for t in trials[:i]) for i in range(len(trials) + 1)]
    assert spent[-1] >= 2 and spent[-2] < 2  # stopped at the first trial past the budget
    assert all(t["macs"] <= 8e6 and t["AP"] is not None for t in trials)
    for i in range(len(trials)):
        assert (folder / "subnets" / f"trial_{i:04d}" / "best.safetensors").is_file()
    best = json.loads((folder / "best.json").read_text())["best"]
    assert best["AP"] == max(t["AP"] for t in trials)
    assert {p.name for p in (folder / "best").iterdir()} >= {"config.json", "weights.safetensors"}
    # the manifest names the space's file, which `archc report` draws
    from archc.runtime.report import read_run

    assert read_run(folder).space_file == Path("small.arch")
    # a resume with a larger budget replays the log and trains on
    more = run_archc(
        [*args, "--budget-seconds", str(spent[-1] + 1), "--max-macs", "8M", "--resume"], work
    )
    assert more.returncode == 0, more.stderr
    again = [json.loads(x) for x in (folder / "trials.jsonl").read_text().splitlines()]
    assert again[: len(trials)] == trials and len(again) > len(trials)
    # another option is another search
    other = run_archc([*args, "--budget-seconds", "2", "--max-macs", "9M", "--resume"], work)
    assert other.returncode != 0 and "max_macs" in other.stderr


def test_hard_gumbel_resumes_exactly_too(work) -> None:
    """Gumbel noise and the drawn candidates come from torch's generator, reseeded per
    epoch by the loop: a resumed epoch draws what the uninterrupted one drew."""
    gumbel = ["--strategy", "gumbel", "--realise", "e*=gumbel", "--hard", "--held-out", "0"]
    base = ["search", "tiny.arch", *gumbel, *RUN, "--epochs", "2", "--no-export"]
    straight = run_archc([*base, "--out", "g_straight"], work)
    assert straight.returncode == 0, straight.stderr
    killed = run_archc([*base, "--out", "g_killed"], work, kill_after=10)  # in epoch 2
    assert killed.returncode == -signal.SIGKILL
    resumed = run_archc([*base, "--out", "g_killed", "--resume"], work)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1" in resumed.stdout
    a, b = work / "g_straight", work / "g_killed"
    assert (a / "alphas.jsonl").read_text() == (b / "alphas.jsonl").read_text()
    left, right = load_file(a / "last.safetensors"), load_file(b / "last.safetensors")
    assert all((left[k] == right[k]).all() for k in left)


REINFORCE = [
    *("search", "policy.arch", "--strategy", "reinforce", "--reward", "loss", *RUN[:-2]),
    *("--epochs", "2", "--controller-updates", "3", "--controller-samples", "2"),
    *("--controller-lr", "0.05", "--derive-samples", "4", "--limit-val", "3"),
]


def test_reinforce_trains_the_controller_derives_and_resumes_exactly(work) -> None:
    straight = run_archc([*REINFORCE, "--out", "r_straight"], work)
    assert straight.returncode == 0, straight.stderr
    folder = work / "r_straight"
    history = [json.loads(x) for x in (folder / "controller.jsonl").read_text().splitlines()]
    assert [(h["epoch"], h["update"]) for h in history] == [
        (e, u) for e in (1, 2) for u in (1, 2, 3)
    ]
    assert history[-1]["entropy"] < history[0]["entropy"]
    trials = [json.loads(x) for x in (folder / "trials.jsonl").read_text().splitlines()]
    assert len(trials) == 4 and all(t["loss"] is not None for t in trials)
    best = json.loads((folder / "best.json").read_text())["best"]
    assert (folder / "best" / "model.onnx").is_file() and (folder / "controller.png").is_file()
    assert best["config"] in [t["config"] for t in trials]
    killed = run_archc([*REINFORCE, "--out", "r_killed"], work, kill_after=6)  # epoch 2 of 4 steps
    assert killed.returncode == -signal.SIGKILL
    resumed = run_archc([*REINFORCE, "--out", "r_killed", "--resume"], work)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1" in resumed.stdout
    other = work / "r_killed"
    for name in ("controller.jsonl", "alphas.jsonl"):
        assert (other / name).read_text() == (folder / name).read_text(), name
    left, right = load_file(folder / "last.safetensors"), load_file(other / "last.safetensors")
    assert all((left[k] == right[k]).all() for k in left)
    again = [json.loads(x) for x in (other / "trials.jsonl").read_text().splitlines()]
    drop = ("seconds",)
    assert [{k: v for k, v in t.items() if k not in drop} for t in again] == [
        {k: v for k, v in t.items() if k not in drop} for t in trials
    ]


def test_the_darts_derivation_keeps_the_strongest_edge_per_node(work) -> None:
    proc = _search_space(work, "cell.arch", "darts_cells", "--derive", "darts", "--keep-edges", "1")
    assert proc.returncode == 0, proc.stderr
    best = json.loads((work / "darts_cells" / "best.json").read_text())
    assert best["derivation"] == "darts"
    assert best["kept_edges"] == {
        "a[*, 0]": ["a[0,0]"],
        "a[*, 1]": [e for e in ("a[0,1]", "a[1,1]") if e in best["kept_edges"]["a[*, 1]"]],
    }
    assert len(best["kept_edges"]["a[*, 1]"]) == 1
    (dropped,) = {"a[0,1]", "a[1,1]"} - set(best["kept_edges"]["a[*, 1]"])
    assert best["config"][dropped] == "zero"
    assert best["config"]["a[0,0]"] != "zero"


def _search_space(work: Path, space: str, out: str, *extra: str):
    args = ["search", space, "--strategy", "darts", *RUN, "--epochs", "1", "--out", out]
    return run_archc([*args, "--no-export", *extra], work)
