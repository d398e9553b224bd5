"""Every command that reads a data set checks it before any work: a missing image
stops `train`, `eval`, `supernet train` and every kind of `search` with the check's
list, exit 1 and no traceback, before a run or search folder is written (a missing
image used to stop training ten seconds into the first epoch, its folder left
behind; a random search at equal budget still left its manifest and subnets/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("PIL")

import archc
from archc.cli.main import main
from archc.runtime.weights import save_weights
from archc.torch import build_module, build_supernet
from tests.runtime.train.train_fixtures import MICRO, SPACE, make_data, write_net

DARTS = """\
import std

space tiny_darts {
    input image: [3, 64, 48]
    let x = image -> conv(16, k=3, stride=4) -> bn -> relu
    let x = x -> oneof(sep_conv_3x3, skip, realise=weighted) as e1
    output heatmaps = x -> conv(17, k=1, bias=true)
}
"""

RUN = ["--epochs", "1", "--batch", "2", "--threads", "1"]

COMMANDS = {
    "train": ["train", "micro.arch", "--out", "OUT", "--workers", "0", *RUN],
    "supernet train": ["supernet", "train", "narrow.arch", "--out", "OUT", *RUN],
    "search darts": ["search", "darts.arch", "--strategy", "darts", "--out", "OUT", *RUN],
    "search at equal budget": [
        "search", "narrow.arch", "--strategy", "random", "--budget-seconds", "5",
        "--out", "OUT", *RUN,
    ],
    "search one-shot": [
        "search", "narrow.arch", "--supernet", "narrow.safetensors", "--out", "OUT",
        "--evaluations", "2", "--threads", "1",
    ],
    "eval": ["eval", "micro.arch", "--weights", "micro.safetensors", "--workers", "0"],
}  # fmt: skip


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data_first")
    write_net(folder, MICRO, "micro.arch")
    write_net(folder, SPACE, "narrow.arch")
    write_net(folder, DARTS, "darts.arch")
    save_weights(build_module(archc.load(folder / "micro.arch")), folder / "micro.safetensors")
    save_weights(build_supernet(archc.load(folder / "narrow.arch")), folder / "narrow.safetensors")
    data = make_data(folder / "data")
    for split in ("train", "val"):
        path = data / f"annotations/person_keypoints_{split}.json"
        doc = json.loads(path.read_text())
        doc["images"][0]["file_name"] = "gone.jpg"
        path.write_text(json.dumps(doc))
    return folder


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_data_set_stops_every_command_before_it_writes(
    work, command, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(work)
    out = f"out_{command.replace(' ', '_')}"
    argv = [out if a == "OUT" else a for a in COMMANDS[command]]
    assert main([*argv, "--data", "data"]) == 1
    err = capsys.readouterr().err
    assert "image id 1: image file" in err and "gone.jpg not found" in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert not (work / out).exists()
