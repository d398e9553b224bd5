"""`archc supernet train` and `archc search` on a temporal space, end to end on a small
synthetic video set: multi-frame training from a key net, an online search within
the MAC budget, a search at another T on the same supernet, exact resume after
kill -9, and the errors of the key-net options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import pytest
import torch
from safetensors.torch import load_file, save_file

from archc.cli.main import main as cli
from archc.compiler.space import Config
from tests.runtime.temporal.temporal_fixtures import (
    SPACE,
    T2,
    make_videos,
    temporal_space,
    train_key_net,
)
from tests.runtime.train.train_fixtures import run_archc

TRAIN = ["--epochs", "2", "--batch", "8", "--workers", "0", "--calibration", "16"]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("temporal")
    make_videos(work / "videos")
    train_key_net(work, work / "videos")
    return work


@pytest.fixture(scope="module")
def supernet(work) -> Path:
    args = ["supernet", "train", str(SPACE), *T2, "--key-net", str(work / "key")]
    assert cli([*args, "--data", str(work / "videos"), *TRAIN, "--out", str(work / "sup")]) == 0
    return work / "sup"


def test_a_temporal_supernet_trains_from_its_key_net_and_validates_online(supernet) -> None:
    net = json.loads((supernet / "config.json").read_text())["net"]
    assert net["frames"] == 2 and net["temporal"]["key_net"]["file"].endswith("tiny_key.arch")
    assert len(net["temporal"]["temporal_choices"]) == 4
    lines = [json.loads(x) for x in (supernet / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert all(r["AP"] is not None and r["AP_smallest"] is not None for r in lines)
    assert lines[1]["loss"] < lines[0]["loss"]
    results = json.loads((supernet / "val_results.json").read_text())
    gt = json.loads((supernet.parent / "videos/annotations/person_keypoints_val.json").read_text())
    frames = {img["id"] for img in gt["images"] if img["frame_id"] < 6 // 3 * 3}
    assert {r["image_id"] for r in results} == frames  # every frame of every clip, once


def _search(work: Path, out: str, defines: list[str], *extra: str) -> int:
    where = ["--supernet", str(work / "sup"), "--data", str(work / "videos")]
    how = ["--out", str(work / out), "--calibration", "16", "--evaluations", "6", "--batch", "3"]
    return cli(["search", str(SPACE), *defines, *where, *how, *extra])


@pytest.fixture(scope="module")
def searched(work, supernet) -> Path:
    assert _search(work, "search", T2) == 0
    return work / "search"


def test_the_search_finds_per_frame_configs_within_the_budget(searched) -> None:
    folder = searched
    trials = [json.loads(x) for x in (folder / "trials.jsonl").read_text().splitlines()]
    space = temporal_space(2)
    assert len(trials) == 6 and all(t["macs"] <= 9e6 for t in trials)
    for t in trials:
        frames = [
            {k.split(".", 1)[1]: v for k, v in t["config"].items() if k.startswith(f)}
            for f in ("frame[1]", "frame[2]")
        ]
        assert frames[0].keys() == frames[1].keys()
    assert any(
        t["config"]["frame[1].t_net.s1.w"] != t["config"]["frame[2].t_net.s1.w"]
        or t["config"]["frame[1].t_net.fuse_at"] != t["config"]["frame[2].t_net.fuse_at"]
        for t in trials
    )  # frames choose separately
    best = Config.load(folder / "best" / "config.json")
    assert space.cost(best).macs <= 9e6
    model = onnx.load(folder / "best" / "model.onnx")
    assert sorted(i.name for i in model.graph.input) == ["image[1]", "image[2]", "key_heatmaps"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "key net" in manifest["inputs"]


def test_a_supernet_trained_at_t2_searches_at_t3(work, supernet) -> None:
    assert _search(work, "search_t3", ["-D", "T=3", "-D", "BUDGET=13M"], "--no-export") == 0
    trials = (work / "search_t3" / "trials.jsonl").read_text().splitlines()
    assert all("frame[3].t_net.fuse_at" in json.loads(t)["config"] for t in trials)


def test_killed_supernet_training_resumes_to_the_same_weights(work) -> None:
    args = ["supernet", "train", str(SPACE), *T2, "--key-net", "key", "--data", "videos"]
    args += [*TRAIN, "--deterministic", "--threads", "1", "--seed", "3"]
    straight = run_archc([*args, "--out", "straight"], work)
    assert straight.returncode == 0, straight.stderr
    killed = run_archc([*args, "--out", "killed"], work, kill_after=9)
    assert killed.returncode != 0
    resumed = run_archc(["supernet", "train", str(SPACE), "--out", "killed", "--resume"], work)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1" in resumed.stdout
    a, b = (
        load_file(work / "straight/last.safetensors"),
        load_file(work / "killed/last.safetensors"),
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_temporal_space_without_a_key_net_is_a_usage_error(work, capsys) -> None:
    args = ["supernet", "train", str(SPACE), *T2, "--data", str(work / "videos")]
    assert cli([*args, "--out", str(work / "nokey")]) == 2
    assert "is a temporal space: name the fixed key-frame net with --key-net" in (
        capsys.readouterr().err
    )
    assert not (work / "nokey").exists()


def test_key_net_options_on_a_single_frame_space_are_refused(work, capsys) -> None:
    key = SPACE.parents[1] / "spaces" / "mobile_small.arch"
    args = ["supernet", "train", str(key), "--key-net", str(work / "key")]
    assert cli([*args, "--data", str(work / "videos"), "--out", str(work / "x")]) == 2
    assert "is not a temporal space" in capsys.readouterr().err


def test_a_file_key_net_needs_its_weights(work, capsys) -> None:
    key = SPACE.parents[1] / "nets" / "tiny_key.arch"
    args = ["supernet", "train", str(SPACE), *T2, "--key-net", str(key)]
    assert cli([*args, "--data", str(work / "videos"), "--out", str(work / "y")]) == 2
    assert "give its weights with --key-weights" in capsys.readouterr().err


def test_changed_key_net_weights_stop_a_resume(work, supernet, capsys) -> None:
    copy, key_copy = work / "sup_copy", work / "key_copy"
    shutil.copytree(work / "key", key_copy)
    args = ["supernet", "train", str(SPACE), *T2, "--key-net", str(key_copy)]
    args += ["--data", str(work / "videos"), "--epochs", "1", "--batch", "8", "--workers", "0"]
    assert cli([*args, "--calibration", "16", "--out", str(copy)]) == 0
    weights = key_copy / "best.safetensors"
    state = load_file(weights)
    save_file({k: v + 1 if v.is_floating_point() else v for k, v in state.items()}, weights)
    capsys.readouterr()
    assert cli(["supernet", "train", str(SPACE), "--out", str(copy), "--resume"]) == 1
    assert "key-net weights" in (err := capsys.readouterr().err) and "changed since" in err


def _video(work: Path, searched: Path, engine: str, capsys) -> dict:
    args = ["video", str(SPACE), *T2, "--tnet", str(searched / "best"), "--key-net"]
    args += [str(work / "key"), "--data", str(work / "videos"), "--engine", engine, "--json"]
    assert cli([*args, "--results", str(work / f"video_{engine}.json")]) == 0
    return json.loads(capsys.readouterr().out)


def test_online_inference_predicts_every_frame_with_either_engine(work, searched, capsys):
    runs = {engine: _video(work, searched, engine, capsys) for engine in ("torch", "onnx")}
    doc = runs["torch"]
    assert doc["frames_per_clip"] == 3 and doc["frames"] == 3 * doc["clips"] > 0
    assert doc["fps"] > 0 and doc["key_only_fps"] > 0 and doc["threads"] == 1
    results = {e: json.loads((work / f"video_{e}.json").read_text()) for e in runs}
    assert len(results["torch"]) == doc["frames"]
    assert [r["image_id"] for r in results["torch"]] == [r["image_id"] for r in results["onnx"]]
    torch_kp = torch.tensor([r["keypoints"] for r in results["torch"]])
    onnx_kp = torch.tensor([r["keypoints"] for r in results["onnx"]])
    close = (torch_kp - onnx_kp).abs() < 1e-2
    assert close.float().mean() > 0.95  # an argmax may flip where two pixels tie


def test_video_refuses_a_tnet_folder_without_its_files(work, tmp_path, capsys) -> None:
    args = ["video", str(SPACE), *T2, "--tnet", str(tmp_path), "--key-net", str(work / "key")]
    assert cli([*args, "--data", str(work / "videos")]) == 1
    assert "no config.json, weights.safetensors there" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["search", "--strategy", "darts", "--epochs", "1"],
            "--strategy darts trains single crops",
        ),
        (["search", "--strategy", "random", "--budget-seconds", "5"], "is a temporal space"),
        (["train", "--largest", "--epochs", "1"], "trains with `archc supernet train --key-net`"),
    ],
    ids=["darts", "budget-random", "train"],
)
def test_single_crop_commands_send_a_temporal_space_to_the_temporal_ones(
    work, args, says, capsys
) -> None:
    command, *rest = args
    argv = [command, str(SPACE), *T2, "--data", str(work / "videos")]
    assert cli([*argv, "--out", str(work / f"single_{args[-3]}"), *rest]) == 1
    assert says in capsys.readouterr().err
    assert not (work / f"single_{args[-3]}").exists()
