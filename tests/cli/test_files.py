"""Files as users keep them (issue 21, item 13): `fmt --write` keeps a file's mode and
writes through a symbolic link; a full disk names the file it could not write and leaves
nothing half-written; an OS error is one sentence with the path, never `[Errno 20]`."""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from pathlib import Path

import pytest

from archc.cli.main import main
from archc.cli.os_errors import describe
from archc.kernel.files import write_atomic

ROOT = Path(__file__).resolve().parents[2]
UGLY = "net n {\n  input image: [3,8,8]\n  output o = image->conv(4,k=3)\n}\n"


def run(args: list[str], capsys) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_fmt_write_keeps_the_mode_of_the_file(tmp_path, capsys):
    path = tmp_path / "secret.arch"
    path.write_text(UGLY)
    path.chmod(0o600)
    assert run(["fmt", "--write", str(path)], capsys)[0] == 0
    assert path.read_text() != UGLY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_fmt_write_writes_through_a_symbolic_link(tmp_path, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "net.arch").write_text(UGLY)
    link = tmp_path / "net.arch"
    link.symlink_to(shared / "net.arch")
    assert run(["fmt", "--write", str(link)], capsys)[0] == 0
    assert link.is_symlink()
    assert (shared / "net.arch").read_text() != UGLY
    assert sorted(p.name for p in shared.iterdir()) == ["net.arch"]  # no temporary left


def test_a_new_file_is_an_ordinary_one(tmp_path):
    write_atomic(tmp_path / "a.json", "{}")
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_on_export_names_the_file_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("n.arch").write_text(UGLY)
    monkeypatch.setattr(os, "fsync", _disk_full)
    status, _, err = run(["export", "n.arch", "-o", "m.onnx"], capsys)
    assert (status, err) == (1, "archc: cannot write m.onnx: the disk is full\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.arch"]


class FullDisk(io.RawIOBase):
    """A standard output on a full disk (this machine's /dev/full may be a plain file)."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_on_standard_output_is_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "n.arch").write_text(UGLY)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(FullDisk())))
    status = main(["fmt", str(tmp_path / "n.arch")])
    err = capsys.readouterr().err
    assert (status, err) == (1, "archc: cannot write the standard output: the disk is full\n")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["export", "n.arch", "-o", "afile/m.onnx"], "cannot write afile/m.onnx"),
        (["viz", "n.arch", "-o", "afile/x.dot"], "cannot use afile/x.dot"),
    ],
)
def test_a_file_where_a_folder_is_needed_is_one_sentence(tmp_path, monkeypatch, capsys, args, line):
    monkeypatch.chdir(tmp_path)
    Path("n.arch").write_text(UGLY)
    Path("afile").write_text("")
    status, _, err = run(args, capsys)
    assert (status, err) == (1, f"archc: {line}: afile is a file, not a folder\n")


def test_data_synth_into_a_file_as_folder_is_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("afile").write_text("")
    status, _, err = run(["data", "synth", "afile/x", "--train", "1", "--val", "0"], capsys)
    assert status == 1 and "Errno" not in err
    assert err.startswith("archc: cannot use afile/x/") and err.endswith(
        ": afile is a file, not a folder\n"
    )


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "afile/x"), None),
        (FileExistsError(errno.EEXIST, "File exists", "afile"), "cannot create afile: a file "),
        (PermissionError(errno.EACCES, "Permission denied", "/x"), "cannot use /x: permission "),
        (FileNotFoundError(errno.ENOENT, "No such file", "d/x"), "cannot use d/x: there is no "),
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    ],
)
def test_os_errors_are_sentences_with_the_path(tmp_path, monkeypatch, error, line):
    monkeypatch.chdir(tmp_path)
    Path("afile").write_text("")
    text = describe(error)
    assert "Errno" not in text and (line is None or text.startswith(line))
    if line is None:
        assert text == "cannot use afile/x: afile is a file, not a folder"


# ---- a UTF-8 byte-order mark (some Windows editors write one) is accepted in JSON files

BOM = b"\xef\xbb\xbf"


def test_a_config_with_a_byte_order_mark_is_read(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("n.arch").write_text(UGLY)
    doc = '{"format": "archc-config", "version": 1, "space": "n", "choices": {}}'
    Path("c.json").write_bytes(BOM + doc.encode())
    status, _, err = run(["info", "n.arch", "--config", "c.json"], capsys)
    assert status == 0, err


def test_other_json_files_with_a_byte_order_mark_are_read(tmp_path):
    from archc.api import compile_file
    from archc.runtime.pose.coco_json import read_json
    from compiler.serialize import load_ir, save_ir

    (tmp_path / "a.json").write_bytes(BOM + b'{"images": []}')
    assert read_json(tmp_path / "a.json") == {"images": []}
    (tmp_path / "n.arch").write_text(UGLY)
    save_ir(compile_file(str(tmp_path / "n.arch")).graphs[0], tmp_path / "ir.json")
    (tmp_path / "ir.json").write_bytes(BOM + (tmp_path / "ir.json").read_bytes())
    assert load_ir(tmp_path / "ir.json").number_of_nodes() > 0


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
