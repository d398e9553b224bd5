"""Files the system refuses are the user's to fix, never "a bug": a full disk names
the file (and leaves nothing partial), a full standard output says so, a path through
a file says which path; `fmt --write` keeps a file's mode and writes through links."""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path

import pytest

from archc.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
NET = ROOT / "examples/nets/tiny.arch"


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnx")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "m.onnx"
    assert main(["export", str(NET), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == f"archc: {out}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


class _FullStdout(io.StringIO):
    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_standard_output_is_said_so(monkeypatch, capsys):
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", _FullStdout())
    assert main(["info", str(NET)]) == 1
    assert "archc: cannot write to standard output: No space left on device" in (
        capsys.readouterr().err
    )


def test_a_path_through_a_file_is_one_sentence_with_the_path(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code = main(["info", str(NET), "--json"])  # warm-up: nothing to do with afile
    capsys.readouterr()
    assert code == 0
    code = main(["compile", str(NET), "-o", str(afile / "out.json")])
    err = capsys.readouterr().err
    assert code == 1 and "internal error" not in err and "Errno" not in err
    assert str(afile) in err


def test_fmt_write_keeps_the_mode_and_writes_through_a_link(tmp_path):
    source = tmp_path / "net.arch"
    source.write_text(NET.read_text().replace("    ", "  ", 1))
    source.chmod(0o600)
    link = tmp_path / "link.arch"
    link.symlink_to(source)
    assert main(["fmt", "--write", str(link)]) == 0
    assert link.is_symlink() and source.read_text() == NET.read_text()
    assert source.stat().st_mode & 0o777 == 0o600


def test_a_byte_order_mark_is_accepted_in_sources_and_configs(tmp_path, capsys):
    space = ROOT / "examples/spaces/mobile_small.arch"
    source = tmp_path / "s.arch"
    source.write_bytes(b"\xef\xbb\xbf" + space.read_bytes())
    assert main(["sample", str(source)]) == 0
    config = tmp_path / "c.json"
    config.write_bytes(b"\xef\xbb\xbf" + capsys.readouterr().out.encode())
    assert main(["info", str(source), "--config", str(config), "--json"]) == 0
    assert '"macs":' in capsys.readouterr().out


@pytest.mark.parametrize("command", ["info", "export", "viz", "latency", "train"])
def test_json_nested_too_deeply_is_one_line(command, tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    space = str(ROOT / "examples/spaces/mobile_small.arch")
    args = {
        "info": ["info", space, "--config", str(deep)],
        "export": ["export", space, "--config", str(deep), "-o", str(tmp_path / "m.onnx")],
        "viz": ["viz", space, "--config", str(deep), "-o", str(tmp_path / "v.dot")],
        "latency": ["latency", space, "--config", str(deep)],
        "train": [
            *("train", space, "--config", str(deep), "--data", str(tmp_path)),
            *("--out", str(tmp_path / "run")),
        ],
    }[command]
    code = main(args)
    err = capsys.readouterr().err
    assert code in (1, 2) and "nested too deeply" in err and "internal error" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.json"]
