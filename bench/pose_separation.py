"""Does the synthetic data set separate networks of very different size?

Generates a synthetic COCO-format data set (`archc data synth`), then trains
four fixed networks with the same recipe (same data, epochs, schedule, seed)
with `archc train` and prints each one's validation AP, training throughput
and wall time. The networks are the repository's examples with one-line
edits (input 128x96 so that the run fits a CPU; about 95 minutes on 2 cores):

- a reduced SimpleBaseline (bottleneck depths [2, 2, 2, 2], planes 32..256,
  three 128-channel deconvs),
- EfficientPose-A as published,
- a tiny net (examples/nets/tiny.arch at the same input),
- a micro net (tiny at a quarter of its widths or less, one block fewer).

    python bench/pose_separation.py [--epochs 12] [--train 2000] [--val 150]
                                    [--batch 16] [--lr 2e-3] [--sigma 2] [--out DIR]

Every net gets the same recipe: Adam with a cosine schedule, the same data,
epochs, batch and seed, 1 torch thread and 1 loading worker (2 cores in all).
Sigma 2 at 32x24 heatmaps (the default would be 1) gives the small nets a
gradient they can follow in a few thousand steps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUT = "[3, 128, 96]"
NETS = {
    "SimpleBaseline-reduced": (
        "examples/nets/simplebaseline_r50.arch",
        {
            "const DEPTHS = [3, 4, 6, 3]": "const DEPTHS = [2, 2, 2, 2]",
            "const PLANES = [64, 128, 256, 512]": "const PLANES = [32, 64, 128, 256]",
            "const STEM = 64": "const STEM = 32",
            "const HEAD_WIDTHS = [256, 256, 256]": "const HEAD_WIDTHS = [128, 128, 128]",
            "const INPUT = [3, 256, 192]": f"const INPUT = {INPUT}",
        },
    ),
    "EfficientPose-A": (
        "examples/nets/efficientpose_a.arch",
        {"const INPUT = [3, 256, 192]": f"const INPUT = {INPUT}"},
    ),
    "tiny": ("examples/nets/tiny.arch", {"input image: [3, 256, 192]": f"input image: {INPUT}"}),
    "micro": (
        "examples/nets/tiny.arch",
        {  # tiny at a quarter of the width or less
            "input image: [3, 256, 192]": f"input image: {INPUT}",
            "conv(16, k=3, stride=2) -> bn -> hswish -> mbconv(16, k=3, se=true)": (
                "conv(8, k=3, stride=2) -> bn -> hswish -> mbconv(8, k=3, se=true)"
            ),
            "mbconv(24, k=3, expand=4, stride=2) -> mbconv(24, k=5, expand=3)": (
                "mbconv(8, k=3, expand=2, stride=2)"
            ),
            "mbconv(40, k=5, expand=3, stride=2, se=true)": "mbconv(16, k=5, expand=2, stride=2)",
            "repeat(2) { mbconv(40, k=5, expand=3, se=true) }": "repeat(1) { mbconv(16, k=5) }",
            'mbconv(80, k=3, expand=4, stride=2, act="hswish")': (
                'mbconv(24, k=3, expand=2, stride=2, act="hswish")'
            ),
            'mbconv(80, k=3, expand=4, act="hswish")': 'mbconv(24, k=3, expand=2, act="hswish")',
            "deconv_head([96, 96], joints=17)": "deconv_head([16, 16], joints=17)",
        },
    ),
}


def archc(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "archc.cli.main", *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def variant(name: str, source: str, edits: dict[str, str], folder: Path) -> Path:
    text = (ROOT / source).read_text()
    for old, new in edits.items():
        if old not in text:
            raise SystemExit(f"{source} no longer contains {old!r}: update this bench")
        text = text.replace(old, new)
    path = folder / f"{name}.arch"
    path.write_text(text)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--val", type=int, default=150)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--sigma", type=float, default=2.0)
    parser.add_argument(
        "--only", choices=list(NETS), action="append", help="train only these nets (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="archc-separation-"))
    data = out / "data"
    start = time.perf_counter()
    if not (data / "annotations").is_dir():
        archc("data", "synth", str(data), "--train", str(args.train), "--val", str(args.val))
    print(
        f"data: {args.train} train / {args.val} val images in {data} "
        f"({time.perf_counter() - start:.0f} s)"
    )
    for name, (source, edits) in NETS.items():
        if args.only and name not in args.only:
            continue
        path = variant(name, source, edits, out)
        info = json.loads(archc("info", str(path), "--json"))
        run = out / f"run-{name}"
        start = time.perf_counter()
        archc(
            "train",
            str(path),
            "--data",
            str(data),
            "--out",
            str(run),
            "--epochs",
            str(args.epochs),
            "--batch",
            str(args.batch),
            "--lr",
            str(args.lr),
            "--sigma",
            str(args.sigma),
            "--schedule",
            "cosine",
            "--workers",
            "1",
            "--threads",
            "1",
            "--val-every",
            "3",
        )
        seconds = time.perf_counter() - start
        epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        last = epochs[-1]
        speed = statistics.median(e["images_per_s"] for e in epochs)
        print(
            f"{name:24s} {info['params']:>10,} params {info['macs'] / 1e6:8.1f} M MACs   "
            f"AP {last['AP']:.3f}  AP50 {last['AP50']:.3f}   {speed:.1f} crops/s (median "
            f"epoch)   {seconds / 60:.1f} min for {args.epochs} epochs"
        )
        print(
            "    AP by epoch: "
            + ", ".join(f"{e['epoch']}: {e['AP']:.3f}" for e in epochs if e["AP"] is not None)
        )


if __name__ == "__main__":
    main()
