"""`archc report RUN_DIR`: one self-contained page for a search and for a training run,
a search cut short, bad input, escaping, and the page opened in a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archc.cli import main as cli
from archc.runtime.report import ReportError, RunFolder, read_run, render_page
from tests.runtime.search.search_fixtures import synth_data, write_space

TRAIN = ["--epochs", "2", "--batch", "8", "--workers", "0", "--threads", "1"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A supernet run, a search of it and a fixed-net training run on generated data."""
    work = tmp_path_factory.mktemp("report")
    space = str(write_space(work))
    data = str(synth_data(work / "data", train=16, val=6))
    sn = ["supernet", "train", space, "--data", data, "--calibration", "16", *TRAIN]
    assert cli.main([*sn, "--out", str(work / "sn")]) == 0
    search = ["search", space, "--supernet", str(work / "sn"), "--data", data]
    search += ["--evaluations", "6", "--batch", "3", "--population", "3", "--tournament", "2"]
    search += ["--calibration", "16", "--threads", "1", "--no-export"]
    assert cli.main([*search, "--out", str(work / "search")]) == 0
    train = ["train", space, "--smallest", "--data", data, *TRAIN, "--out", str(work / "fixed")]
    assert cli.main(train) == 0
    return work


def _report(run: Path, out: Path) -> str:
    assert cli.main(["report", str(run), "-o", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def _self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", page)
    assert "<link" not in page


def test_a_search_report_shows_the_front_the_drawings_and_the_supernet_curves(runs, tmp_path):
    page = _report(runs / "search", tmp_path / "search.html")
    _self_contained(page)
    front = json.loads((runs / "search" / "front.json").read_text())["front"]
    assert "<h1>small: one-shot search</h1>" in page
    assert "Accuracy against cost" in page and page.count("data:image/png;base64,") >= 2
    table = page[page.index("Best configs on the front") :]
    assert table.count("<tr><td>") == min(10, len(front))
    assert f"{len(front)} on the front" in page
    assert "the supernet (" in page  # its training curves, read through the manifest
    assert "<summary>manifest.json</summary>" in page
    if HAS_DOT:
        assert page.count("<svg") == 2  # the space and the found subnet
        assert "The found subnet" in page


def test_a_training_report_has_the_curves_and_no_search_sections(runs, tmp_path):
    page = _report(runs / "fixed", tmp_path / "fixed.html")
    _self_contained(page)
    assert "small: training" in page and "Training curves" in page
    assert "The network" in page and "The space" not in page
    assert "Accuracy against cost" not in page and "Best configs" not in page
    assert "epochs finished</th><td>2 of 2" in page
    assert "<summary>config.json</summary>" in page


def test_the_default_page_goes_into_the_run_folder(runs, tmp_path, capsys):
    folder = tmp_path / "copy"
    shutil.copytree(runs / "fixed", folder)
    assert cli.main(["report", str(folder)]) == 0
    assert (folder / "report.html").is_file()
    assert f"wrote {folder / 'report.html'} (training of small" in capsys.readouterr().out


def test_a_search_cut_short_is_reported_as_far_as_it_got(runs, tmp_path):
    folder = tmp_path / "cut"
    shutil.copytree(runs / "search", folder)
    for name in ("front.json", "best.json", "pareto.png"):
        (folder / name).unlink()
    lines = (folder / "trials.jsonl").read_text().splitlines(keepends=True)
    (folder / "trials.jsonl").write_text("".join(lines[:3]) + lines[3][:20])  # a torn line
    page = _report(folder, tmp_path / "cut.html")
    assert "no pareto.png yet" in page
    assert "trials evaluated</th><td>3<" in page
    assert "The found subnet" not in page


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: None, "not an archc run folder"),
        (lambda d: (d / "manifest.json").write_text("{oops"), "manifest.json: unreadable"),
        (lambda d: (d / "manifest.json").write_text('{"format": "x"}'), "not an archc search"),
        (lambda d: (d / "manifest.json").write_text("[1]"), "expected a JSON object"),
    ],
)
def test_a_folder_that_is_not_a_run_fails_naming_it(tmp_path, capsys, make, message):
    folder = tmp_path / "run"
    folder.mkdir()
    make(folder)
    assert cli.main(["report", str(folder)]) == 1
    err = capsys.readouterr().err
    assert message in err and str(folder) in err
    assert not (folder / "report.html").exists()


def test_bad_paths_fail_with_one_line(runs, tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "absent")]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert cli.main(["report", str(runs / "fixed"), "-o", str(tmp_path / "page.txt")]) == 1
    assert "name it *.html" in capsys.readouterr().err
    assert cli.main(["report", str(runs / "fixed"), "-o", str(tmp_path / "no" / "p.html")]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "no" / "p.html") in err and err.count("\n") == 1


def test_text_from_the_folder_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    run = RunFolder(
        path=tmp_path,
        manifest=None,
        train_config={"config": {}, "net": {"name": evil, "file": None}},
        metrics=[{"epoch": 1, "epochs": 1, "loss": 0.1, "AP": 0.2, "best_AP": 0.2}],
    )
    page = render_page(run)
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_read_run_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ReportError, match="no such folder"):
        read_run(tmp_path / "f")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (apt-get install chromium)")
def test_the_page_renders_in_a_headless_browser_with_every_picture_decoded(runs, tmp_path):
    page = tmp_path / "search.html"
    _report(runs / "search", page)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    flags += [f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    done = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    pictures = int(re.search(r'data-pictures="(\d+)"', dom).group(1))
    assert pictures >= 2 and 'data-broken="0"' in dom
    assert dom.count("this picture failed to load") == 1  # the script's text, never added
    shot = tmp_path / "page.png"
    subprocess.run(
        [CHROMIUM, *flags, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000  # a blank page is a few kilobytes


def test_a_search_by_loss_reports_the_loss_not_the_score_as_ap(tmp_path):
    best = {"index": 3, "score": -0.0021, "AP": 0.0, "loss": 0.0021, "macs": 5, "params": 2}
    run = RunFolder(
        path=tmp_path,
        manifest={
            "format": "archc-search-run",
            "kind": "one-shot",
            "options": {"objective": "loss"},
        },
        train_config=None,
        front={"space": "s", "cost": "macs", "front": [best]},
        best={"space": "s", "best": best},
    )
    page = render_page(run)
    assert "best validation loss</th><td>0.002100" in page
    assert "its AP</th><td>0.0000" in page and "-0.0021" not in page
    assert "higher score (minus the validation loss), lower macs" in page
