"""Every command checks the optional packages it needs before it starts and names the
extra that installs them: never an "internal error", never an epoch lost. A missing
package is simulated by `sys.modules[name] = None` (what a failed import looks like)."""

from __future__ import annotations

import json
import sys

import pytest

from archc.cli import requires
from archc.cli.main import build_parser, main

ARGS = {
    "train": ["train", "n.arch", "--data", "d", "--out", "r"],
    "eval": ["eval", "n.arch", "--weights", "w.safetensors", "--data", "d"],
    "supernet": ["supernet", "train", "s.arch", "--data", "d", "--out", "r"],
    "video": ["video", "s.arch", "--tnet", "b", "--key-net", "k", "--data", "d"],
    "search": ["search", "s.arch", "--data", "d", "--out", "o", "--strategy", "darts"],
    "export": ["export", "n.arch", "-o", "m.onnx"],
    "latency": ["latency", "n.arch"],
    "lut": ["lut", "n.arch", "-o", "lut.json"],
    "data": ["data", "check", "d"],
    "lsp": ["lsp"],
}
PAIRS = [(c, name) for c in ARGS for name in requires.needs(c, build_parser().parse_args(ARGS[c]))]


def test_every_command_with_needs_is_exercised():
    assert set(ARGS) == set(requires.NEEDS)


@pytest.mark.parametrize(("command", "name"), PAIRS, ids=[f"{c}-{n}" for c, n in PAIRS])
def test_a_missing_package_is_named_before_the_command_starts(
    command, name, monkeypatch, tmp_path, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, name, None)
    assert main(ARGS[command]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"archc: archc {command} needs {name}: pip install 'archc[")
    assert f"[{requires.EXTRAS[name]}]" in err and "internal error" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def _info_raising(monkeypatch, err: ModuleNotFoundError) -> None:
    """`archc info` made to meet `err` while it runs (past the up-front check)."""
    from archc.cli import main as main_module

    def run(args):
        raise err

    parser = main_module.build_parser()
    parser._subparsers._group_actions[0].choices["info"].set_defaults(run=run)
    monkeypatch.setattr(main_module, "build_parser", lambda: parser)


def test_a_package_found_missing_later_gets_the_same_line(monkeypatch, capsys):
    _info_raising(monkeypatch, ModuleNotFoundError("No module named 'pymoo'", name="pymoo"))
    assert main(["info", "x.arch"]) == 1
    assert capsys.readouterr().err == "archc: archc info needs pymoo: pip install 'archc[search]'\n"


def test_an_unknown_missing_module_is_still_a_bug(monkeypatch, capsys):
    nope = ModuleNotFoundError("No module named 'archc.nope'", name="archc.nope")
    _info_raising(monkeypatch, nope)
    assert main(["info", "x.arch"]) == 3
    assert "internal error" in capsys.readouterr().err


@pytest.mark.slow  # about 10 s: an epoch, then its validation on resume
def test_a_validation_that_fails_loses_no_epoch(tmp_path, monkeypatch, capsys):
    """The epoch's checkpoint is committed before validation: pycocotools found missing
    only there (a broken install) ends in the install line, and `--resume` validates the
    kept epoch instead of training it again."""
    import torch

    from archc.runtime.train.checkpoint import LAST
    from tests.runtime.train.train_fixtures import make_data, write_net

    data, nets = make_data(tmp_path / "data"), tmp_path / "nets"
    nets.mkdir()
    write_net(nets)
    run = tmp_path / "run"
    argv = ["train", str(nets / "micro.arch"), "--data", str(data), "--out", str(run)]
    argv += ["--epochs", "1", "--batch", "2", "--workers", "0", "--threads", "1"]
    threads = torch.get_num_threads()
    try:
        with monkeypatch.context() as broken:
            broken.setitem(sys.modules, "pycocotools.coco", None)
            assert main(argv) == 1
        err = capsys.readouterr().err
        assert err == "archc: archc train needs pycocotools: pip install 'archc[pose]'\n"
        assert json.loads((run / LAST).read_text())["epoch"] == 1
        assert main([*argv, "--resume"]) == 0
    finally:
        torch.set_num_threads(threads)
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1


def test_a_search_without_export_does_not_need_onnx(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    args = build_parser().parse_args([*ARGS["search"], "--no-export"])
    assert "onnx" not in requires.needs("search", args)
    requires.check("search", args)  # the rest is installed here
