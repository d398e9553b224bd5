"""`archc train` / `archc eval` on a micro network and a 4-person data set: the files
a run leaves, eval reproducing the logged AP, the schedules, the checkpoint
helpers, and bad input failing with exit code 1 and one complete line."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import archc
from archc.cli import main as cli
from archc.runtime.pose.evaluate import KEYPOINT_METRICS
from archc.runtime.train import (
    NetGeometry,
    TrainConfig,
    TrainError,
    checkpoint,
    geometry_of,
    metrics,
)
from archc.runtime.train.schedule import lr_at, milestones
from archc.runtime.train.step import PlainStep
from archc.torch import build_module
from tests.runtime.train.train_fixtures import MPII_NET, SPACE, make_data, write_net

FAST = ["--batch", "2", "--workers", "0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def nets(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nets")
    write_net(folder)
    write_net(folder, SPACE, "narrow.arch")
    write_net(folder, MPII_NET, "mpii16.arch")
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data, nets) -> tuple[Path, str]:
    """A 2-epoch run whose rate drops after epoch 1; (run dir, stdout). One thread:
    a micro net gains nothing from more, and loses much on a busy machine."""
    run = tmp_path_factory.mktemp("runs") / "micro"
    out, threads = io.StringIO(), torch.get_num_threads()
    argv = [
        "train",
        str(nets / "micro.arch"),
        "--data",
        str(data),
        "--out",
        str(run),
        "--epochs",
        "2",
        "--lr-steps",
        "1",
        "--threads",
        "1",
        *FAST,
    ]
    try:
        with contextlib.redirect_stdout(out):
            assert cli.main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    return run, out.getvalue()


def test_two_epochs_leave_metrics_and_checkpoints(trained) -> None:
    run, stdout = trained
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert [r["lr"] for r in lines] == [1e-3, pytest.approx(1e-4)]
    for r in lines:
        assert all(isinstance(r[k], float) for k in KEYPOINT_METRICS)
        assert r["images"] == 4 and math.isfinite(r["loss"]) and r["loss"] > 0
        assert r["images_per_s"] > 0
    assert sorted(p.name for p in run.iterdir()) == [
        ".lock",
        "best.safetensors",
        "checkpoints",
        "config.json",
        "last.json",
        "last.safetensors",
        "metrics.jsonl",
        "val_results.json",
    ]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "epoch_0002.safetensors",
        "epoch_0002.state.safetensors",
    ]
    last = json.loads((run / "last.json").read_text())
    assert (last["epoch"], last["weights"]) == (2, "checkpoints/epoch_0002.safetensors")
    out = stdout.splitlines()
    assert out[0].startswith(
        "training micro (1,705 params, input 64x48, heatmaps 17x16x12) "
        "on 4 train / 4 val persons (skipped by design: train 1 crowd, 1 no_keypoints; "
        "val 1 crowd, 1 no_keypoints) for 2 epochs (cpu, 1 thread) in "
    )
    assert [line.split(":")[0] for line in out[1:3]] == ["epoch 1/2", "epoch 2/2"]


def test_last_weights_are_the_committed_epoch_and_load_into_the_net(trained, nets) -> None:
    run, _ = trained
    last, committed = (
        load_file(run / "last.safetensors"),
        load_file(run / "checkpoints" / "epoch_0002.safetensors"),
    )
    assert last.keys() == committed.keys()
    assert all(torch.equal(last[k], committed[k]) for k in last)
    module = build_module(archc.load(nets / "micro.arch"))
    module.load_state_dict(last)


def test_eval_reproduces_the_last_epochs_validation(trained, nets, data, tmp_path, capsys) -> None:
    run, _ = trained
    results = tmp_path / "results.json"
    argv = [
        "eval",
        str(nets / "micro.arch"),
        "--weights",
        str(run / "last.safetensors"),
        "--data",
        str(data),
        "--json",
        "--results",
        str(results),
        "--threads",
        "1",
        *FAST,
    ]
    threads = torch.get_num_threads()
    try:
        assert cli.main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    stats = json.loads(capsys.readouterr().out)
    logged = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert stats == {k: logged[k] for k in KEYPOINT_METRICS}
    assert json.loads(results.read_text()) == json.loads((run / "val_results.json").read_text())


def test_eval_prints_a_table(trained, nets, data, capsys) -> None:
    run, _ = trained
    argv = [
        "eval",
        str(nets / "micro.arch"),
        "--weights",
        str(run / "best.safetensors"),
        "--data",
        str(data),
        "--no-flip",
        *FAST,
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"micro on {data} (val, 4 persons, flip test off):"
    assert [line.split()[0] for line in out[1:]] == list(KEYPOINT_METRICS)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"epochs": 140}, {0: 1e-3, 89: 1e-3, 90: 1e-4, 119: 1e-4, 120: 1e-5, 139: 1e-5}),
        ({"epochs": 10}, {0: 1e-3, 5: 1e-3, 6: 1e-4, 8: 1e-4, 9: 1e-5}),
        ({"epochs": 10, "lr_steps": (3,), "lr_factor": 0.5}, {2: 1e-3, 3: 5e-4, 9: 5e-4}),
        (
            {"epochs": 4, "schedule": "cosine"},
            {
                0: 1e-3,
                1: 0.5e-3 * (1 + math.cos(math.pi / 4)),
                2: 0.5e-3,
                3: 0.5e-3 * (1 - math.cos(math.pi / 4)),
            },
        ),
        ({"epochs": 2, "schedule": "cosine", "min_lr": 1e-5}, {0: 1e-3, 1: 1e-5 + 0.99e-3 / 2}),
    ],
)
def test_schedule_values(options, expected) -> None:
    config = TrainConfig(data="d", **options)
    assert {e: lr_at(config, e) for e in expected} == pytest.approx(expected, rel=1e-12)


def test_default_milestones_follow_the_140_epoch_recipe() -> None:
    assert milestones(TrainConfig(data="d")) == (90, 120)
    assert milestones(TrainConfig(data="d", epochs=10)) == (6, 9)
    assert milestones(TrainConfig(data="d", epochs=1)) == ()


def test_geometry_comes_from_the_network(nets) -> None:
    assert geometry_of(archc.load(nets / "micro.arch")) == NetGeometry(
        "micro", (64, 48), (16, 12), 17
    )


def test_config_round_trips_and_rejects_bad_values() -> None:
    config = TrainConfig(data="d", lr_steps=[3, 5], schedule="cosine")
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config
    with pytest.raises(TrainError, match=r"^batch must be >= 1, got 0$"):
        TrainConfig(data="d", batch=0)
    with pytest.raises(TrainError, match=r"^config: unknown options \['lrr'\]$"):
        TrainConfig.from_dict({"data": "d", "lrr": 1})


def test_optimizer_state_round_trips_without_pickle() -> None:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    tensors, rest = checkpoint.optimizer_to_files(opt)
    json.dumps(rest)
    again = torch.optim.Adam(model.parameters(), lr=0.5)
    again.load_state_dict(checkpoint.optimizer_from_files(tensors, json.loads(json.dumps(rest))))
    a, b = opt.state_dict(), again.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert all(
        torch.equal(a["state"][i][k], b["state"][i][k]) for i in a["state"] for k in a["state"][i]
    )


def test_metrics_sync_keeps_the_committed_epochs(tmp_path) -> None:
    (tmp_path / metrics.METRICS).write_text('{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3, "lo')
    metrics.sync(tmp_path, 2, {"epoch": 2, "loss": 9.0})
    assert metrics.read(tmp_path) == [{"epoch": 1}, {"epoch": 2}]
    metrics.sync(tmp_path, 3, {"epoch": 3, "loss": float("nan")})
    assert metrics.read(tmp_path) == [{"epoch": 1}, {"epoch": 2}, {"epoch": 3, "loss": None}]


def test_a_changed_checkpoint_file_is_refused(trained, tmp_path, nets) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    weights = run / "checkpoints" / "epoch_0002.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    step = PlainStep(build_module(archc.load(nets / "micro.arch")))
    with pytest.raises(TrainError, match=r"differs from what .*last\.json recorded"):
        checkpoint.load_checkpoint(run, step)


def _fails(argv: list[str], capsys) -> str:
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1
    return captured.err


def test_bad_inputs_fail_with_one_clear_line(trained, data, nets, tmp_path, capsys) -> None:
    run = trained[0]
    micro, out = str(nets / "micro.arch"), tmp_path / "out"
    ann = data / "annotations" / "person_keypoints_train.json"
    cases = [
        (
            ["train", str(nets / "narrow.arch"), "--data", str(data)],
            f"{nets / 'narrow.arch'} is a search space with 1 choice: derive a subnet first "
            "(--config C.json, --largest or --smallest; configs come from `archc sample` or a "
            "search), or give a net",
        ),
        (
            ["train", micro, "--data", str(tmp_path / "nope"), "--out", str(out)],
            f"{tmp_path / 'nope'}: no such data directory (make one with `archc data synth "
            f"{tmp_path / 'nope'}`)",
        ),
        (
            ["train", micro, "--data", str(nets), "--out", str(out)],
            f"{nets}: missing annotations/person_keypoints_train.json (a data directory holds "
            "annotations/person_keypoints_{train,val}.json and images/{train,val}/)",
        ),
        (
            ["train", str(nets / "mpii16.arch"), "--data", str(data), "--out", str(out)],
            f"`mpii16` outputs 16 heatmaps but {ann} has 17 keypoints per person; the "
            "network's output channels must equal the data's keypoints",
        ),
        (
            ["train", micro, "--data", str(data), "--out", str(run)],
            f"{run} is not empty: continue that run with --resume, or give another --out",
        ),
        (
            ["train", micro, "--out", str(out), "--resume"],
            f"--resume: {out} holds no run to resume (no config.json); start a new run without "
            "--resume",
        ),
        (
            ["train", micro, "--out", str(run), "--resume", "--lr", "0.01"],
            f"{run}: a resumed run keeps its options; changed: lr: 0.01 (the run has 0.001)",
        ),
        (
            ["train", micro, "--data", str(data), "--out", str(nets / "micro.arch" / "run")],
            f"cannot write the run directory {nets / 'micro.arch' / 'run'}: Not a directory",
        ),
    ]
    for argv, message in cases:
        assert _fails(argv, capsys) == f"archc: {message}\n", argv
        assert not out.exists()
    # a bad command line (exit 2, tests/cli/test_exit_codes.py has every option)
    assert cli.main(["train", micro, "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert (
        err == "archc train: error: --data DIR is required (a folder with annotations/ and images/)"
    )
    assert not out.exists()


def test_eval_refuses_weights_of_another_net(trained, data, nets, capsys) -> None:
    weights = trained[0] / "last.safetensors"
    err = _fails(
        ["eval", str(nets / "mpii16.arch"), "--weights", str(weights), "--data", str(data)], capsys
    )
    assert err.startswith(
        f"archc: {weights} does not fit this module (weights of another "
        "space or of other realisations?); other shapes: net.conv_2.weight"
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_a_gpu_is_a_clear_error(data, nets, tmp_path, capsys) -> None:
    err = _fails(
        [
            "train",
            str(nets / "micro.arch"),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "r"),
            "--device",
            "cuda",
        ],
        capsys,
    )
    assert err.startswith("archc: --device cuda: no CUDA device is available")
