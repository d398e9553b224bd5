"""A small elastic pose space at 64 x 48 and a generated data set, for the search tests:
small enough that a supernet epoch and a dozen evaluations take seconds on a CPU."""

from __future__ import annotations

from pathlib import Path

from archc.cli import main as cli

SMALL = """\
import std

space small {
    "A small elastic pose space for tests: width, kernel, depth and head width."
    input image: [3, 64, 48]
    let x = image -> conv(16, k=3, stride=2) -> bn -> relu
    scope s1 {
        let w = choice(16, 24, 32)
        let k = choice(3, 5)
        let d = choice(1, 2)
        let x = x -> repeat(d) as blocks {
            i => conv(w, k=k, stride=2 if i == 0 else 1) -> bn -> relu
        }
    }
    output heatmaps = x -> deconv(choice(16, 32) as hw, k=4) -> bn -> relu
        -> conv(17, k=1, bias=true)
}
"""


def write_space(folder: Path, text: str = SMALL, name: str = "small.arch") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def synth_data(folder: Path, train: int = 40, val: int = 12) -> Path:
    """A generated COCO-format data set (seeded, so every test sees the same images)."""
    argv = [
        "data",
        "synth",
        str(folder),
        "--train",
        str(train),
        "--val",
        str(val),
        "--size",
        "96x128",
        "--workers",
        "1",
    ]
    assert cli.main(argv) == 0
    return folder
