"""One rule for bad command lines: exit 2, whether argparse finds the bad value or a
check after parsing does, before any work and with nothing written (docs/language.md,
"Exit codes"). Every numeric option of every command with a value out of its domain."""

from __future__ import annotations

from pathlib import Path

import pytest

from archc.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
NET = str(ROOT / "examples/nets/tiny.arch")
SPACE = str(ROOT / "examples/spaces/mobile_small.arch")

CASES = {
    "viz --depth 0": ["viz", NET, "--depth", "0", "-o", "out.svg"],
    "sample --n 0": ["sample", SPACE, "--n", "0"],
    "latency --threads 0": ["latency", NET, "--threads", "0"],
    "latency --runs 0": ["latency", NET, "--runs", "0"],
    "latency --batch 0": ["latency", NET, "--batch", "0"],
    "lut --runs 0": ["lut", NET, "--runs", "0", "-o", "lut.json"],
    "lut --calibrate 1": ["lut", SPACE, "--calibrate", "1", "-o", "lut.json"],
    "export --opset 3": ["export", NET, "--opset", "3", "-o", "m.onnx"],
    "export --tolerance -1": ["export", NET, "--tolerance", "-1", "-o", "m.onnx"],
    "export --opset x": ["export", NET, "--opset", "x", "-o", "m.onnx"],
    "data synth --size 10x10": ["data", "synth", "out", "--size", "10x10"],
    "data synth --train -1": ["data", "synth", "out", "--train", "-1"],
    "data synth --video 1": ["data", "synth", "out", "--video", "1"],
    "data synth --workers 0": ["data", "synth", "out", "--workers", "0"],
    "train --epochs 0": ["train", NET, "--data", "d", "--out", "run", "--epochs", "0"],
    "train --batch 0": ["train", NET, "--data", "d", "--out", "run", "--batch", "0"],
    "train --lr 0": ["train", NET, "--data", "d", "--out", "run", "--lr", "0"],
    "eval --batch 0": ["eval", NET, "--weights", "w", "--data", "d", "--batch", "0"],
    "supernet train --random -1": [
        *("supernet", "train", SPACE, "--data", "d", "--out", "run", "--random", "-1"),
    ],
    "search --evaluations 0": [
        *("search", SPACE, "--supernet", "s", "--data", "d", "--out", "o", "--evaluations", "0"),
    ],
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_value_exits_2_before_any_work(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) if _by_argparse(case) else _nothing():
        code = main(CASES[case])
        assert code == 2
    err = capsys.readouterr().err
    flag = case.split()[-2]
    assert flag in err and "internal error" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def _by_argparse(case: str) -> bool:
    return case in ("export --opset x", "search --evaluations 0")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_argparse_itself_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", NET, "--opset", "x"])
    assert exit_.value.code == 2
