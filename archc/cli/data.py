"""`archc data synth OUT`: render a synthetic COCO-format pose data set (docs/data.md)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from archc.cli.common import CliFailure, UsageError
from archc.cli.data_check import register as register_check

_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")
SIZE_LIMITS = (64, 2048)  # pixels, each side (the same as synth.writer.SIZE_LIMITS)
MAX_FRAMES, MAX_IMAGES = 1000, 1_000_000  # the same as synth.writer's


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="pose data sets (synthetic COCO-format data, validation)",
        description="Pose data tools. `archc data synth OUT` renders a synthetic COCO "
        "keypoints data set; `archc data check DIR` validates one (see docs/data.md).",
    )
    actions = p.add_subparsers(dest="data_action", metavar="ACTION")
    s = actions.add_parser(
        "synth",
        help="render a synthetic COCO keypoints data set",
        description="Render articulated figures with the 17 COCO keypoints into images "
        "and write OUT/annotations/person_keypoints_{train,val}.json and "
        "OUT/images/{train,val}/*.jpg. The same seed gives identical files. "
        "With --video T every train/val item is a sequence of T frames with "
        "smooth motion, vid_id/frame_id on images and track_id on persons.",
    )
    s.add_argument("out", metavar="OUT", help="output folder (must be empty, or use --force)")
    s.add_argument(
        "--train",
        type=int,
        default=1000,
        metavar="N",
        help="training images, or sequences with --video (default 1000)",
    )
    s.add_argument(
        "--val",
        type=int,
        default=100,
        metavar="M",
        help="validation images, or sequences with --video (default 100)",
    )
    s.add_argument(
        "--size",
        default="288x384",
        metavar="HxW",
        help="image height x width in pixels (default 288x384)",
    )
    s.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    s.add_argument(
        "--video",
        type=int,
        metavar="T",
        help="write sequences of T >= 2 frames instead of single images",
    )
    s.add_argument(
        "--workers", type=int, metavar="W", help="rendering processes (default: the number of CPUs)"
    )
    s.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty OUT, replacing the data set there",
    )
    s.set_defaults(run=run_synth)
    register_check(actions)
    p.set_defaults(run=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def parse_size(text: str) -> tuple[int, int]:
    match = _SIZE.match(text)
    if not match:
        raise UsageError(
            f"--size must be HxW in pixels (height x width), e.g. 288x384; got {text!r:.40}"
        )
    h, w = int(match.group(1)), int(match.group(2))
    lo, hi = SIZE_LIMITS
    if not (lo <= h <= hi and lo <= w <= hi):
        raise UsageError(f"--size {text}: height and width must each be within {lo}..{hi} pixels")
    return h, w


def _check_args(args: argparse.Namespace) -> tuple[int, int]:
    for flag, value in (("--train", args.train), ("--val", args.val)):
        if value < 0:
            raise UsageError(f"{flag} must be >= 0, got {value}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if args.video is not None and args.video < 2:
        raise UsageError(f"--video needs at least 2 frames per sequence, got {args.video}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    _check_counts(args)
    return parse_size(args.size)


def _check_counts(args: argparse.Namespace) -> None:
    """The caps of synth.writer, worded with the flags: a typo of a few zeros would
    otherwise render for hours before anything could be seen going wrong."""
    if args.video is not None and args.video > MAX_FRAMES:
        raise UsageError(
            f"--video {args.video}: at most {MAX_FRAMES} frames per sequence "
            "(frame numbers have 3 digits)"
        )
    images = (args.train + args.val) * (args.video or 1)
    if images > MAX_IMAGES:
        video = f" --video {args.video}" if args.video else ""
        raise UsageError(
            f"--train {args.train} --val {args.val}{video} is {images:,} images; a data set "
            f"holds at most {MAX_IMAGES:,} (make a smaller one, or several)"
        )


def run_synth(args: argparse.Namespace) -> int:
    size = _check_args(args)
    try:
        from archc.runtime.pose.synth.writer import SynthError, check_output, synthesize
    except ImportError as err:
        raise CliFailure(
            f"archc data synth needs numpy and pillow ({err}); "
            "install them with: pip install 'archc[pose]'"
        ) from None
    try:
        check_output(Path(args.out), args.force)
    except SynthError as err:
        raise CliFailure(str(err)) from None
    total = (args.train + args.val) * (args.video or 1)
    start = time.perf_counter()
    with _Progress(total) as progress:
        try:
            result = synthesize(
                args.out,
                args.train,
                args.val,
                size=size,
                seed=args.seed,
                video=args.video,
                workers=args.workers,
                force=args.force,
                progress=progress.update,
            )
        except (SynthError, OSError) as err:
            raise CliFailure(str(err)) from None
    seconds = time.perf_counter() - start
    images = sum(result.images.values())
    print(
        f"wrote {result.images['train']} train and {result.images['val']} val images "
        f"({sum(result.persons.values())} persons) to {args.out} in {seconds:.1f} s "
        f"({60 * images / max(seconds, 1e-9):,.0f} images/min)"
    )
    return 0


class _Progress:
    """A tqdm bar per split on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int) -> None:
        self.enabled = bool(total) and sys.stderr.isatty()
        self.bars: dict[str, object] = {}

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        for bar in self.bars.values():
            bar.close()

    def update(self, split: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if split not in self.bars:
            from tqdm import tqdm

            self.bars[split] = tqdm(
                total=total, desc=f"rendering {split}", unit="image", file=sys.stderr, leave=False
            )
        bar = self.bars[split]
        bar.update(done - bar.n)
