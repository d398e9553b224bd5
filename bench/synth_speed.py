"""Images per minute of `archc data synth` at the default size, JPEGs and JSON included.

Renders a train split of N images into a temporary folder with the given number of
worker processes (default: all CPUs) and prints the rate measured in that one run, plus
the single-process render time per image (no file writing). Target: >= 500 images per
minute on 2 cores at the default size (288x384).

    python bench/synth_speed.py [--images N] [--workers W] [--size HxW] [--video T]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from archc.cli.data import parse_size
from archc.runtime.pose.synth import DEFAULT_SIZE, render_still, synthesize
from archc.runtime.pose.synth.writer import default_workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--size", default="x".join(map(str, DEFAULT_SIZE)))
    parser.add_argument("--video", type=int, default=None)
    args = parser.parse_args()
    size = parse_size(args.size)
    start = time.perf_counter()
    for i in range(20):
        render_still(0, "val", i, size)
    single = (time.perf_counter() - start) / 20
    n = args.images if args.video is None else max(1, args.images // args.video)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = synthesize(tmp, n, 0, size=size, seed=1, video=args.video, workers=args.workers)
        seconds = time.perf_counter() - start
    images = result.images["train"]
    print(
        f"size {size[0]}x{size[1]}, {images} images, {result.persons['train']} persons, "
        f"{args.workers} workers" + (f", sequences of {args.video}" if args.video else "")
    )
    print(f"render only, 1 process: {1000 * single:.1f} ms/image ({60 / single:,.0f} images/min)")
    print(f"synthesize, end to end: {60 * images / seconds:,.0f} images/min ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
