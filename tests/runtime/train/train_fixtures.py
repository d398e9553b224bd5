"""Builders for the training tests (a plain module, like pose_fixtures): a micro
network at 64 x 48 (heatmaps 16 x 12, so a step takes milliseconds), a space
with one choice, and a data directory in the layout `archc train` reads,
made of the tiny COCO sets of pose_fixtures (4 persons per split)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.runtime.pose.pose_fixtures import coco_dict, write_coco

MICRO = """\
import std

net micro {
    "A micro pose net for tests: 64 x 48 crops, 17 heatmaps of 16 x 12."
    input image: [3, 64, 48]

    let x = image -> conv(8, k=3, stride=2) -> bn -> relu -> conv(16, k=3, stride=2) -> bn -> relu
    output heatmaps = x -> conv(17, k=1, bias=true)
}
"""

SPACE = """\
import std

space narrow {
    input image: [3, 64, 48]
    let w = choice(8, 16)
    output heatmaps = image -> conv(w, k=3, stride=4) -> bn -> relu -> conv(17, k=1, bias=true)
}
"""

MPII_NET = MICRO.replace("micro", "mpii16").replace("conv(17", "conv(16")


def write_net(folder: Path, text: str = MICRO, name: str = "micro.arch") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def make_data(root: Path) -> Path:
    """root/annotations/person_keypoints_{train,val}.json and root/images/{train,val}/."""
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for split, seed in (("train", 0), ("val", 1)):
        ann = write_coco(root / "images" / split, coco_dict(seed))
        ann.rename(root / "annotations" / f"person_keypoints_{split}.json")
    return root


KILL_RUNNER = Path(__file__).with_name("kill_runner.py")


def run_archc(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    kill_after: int | str | None = None,
) -> subprocess.CompletedProcess:
    """`python -m archc ARGS` in a fresh process (for kills and bit-exact resumes);
    with `kill_after` N (or "N:INT"), the process sends itself SIGKILL (SIGINT) after
    that many optimisation steps."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(KILL_RUNNER.parents[3]), full_env.get("PYTHONPATH")) if p
    )
    head = ["-m", "archc"] if kill_after is None else [str(KILL_RUNNER), str(kill_after)]
    return subprocess.run(
        [sys.executable, *head, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
