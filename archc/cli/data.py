"""`archc data synth OUT`: render a synthetic COCO-format pose data set (docs/data.md)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from archc.cli import values
from archc.cli.common import CliFailure, UsageError
from archc.cli.data_check import register as register_check
from archc.cli.os_errors import describe

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
        type=values.NATURAL,
        default=1000,
        metavar="N",
        help="training images, or sequences with --video (default 1000)",
    )
    s.add_argument(
        "--val",
        type=values.NATURAL,
        default=100,
        metavar="M",
        help="validation images, or sequences with --video (default 100)",
    )
    s.add_argument(
        "--size",
        type=parse_size,
        default="288x384",
        metavar="HxW",
        help="image height x width in pixels (default 288x384)",
    )
    s.add_argument(
        "--seed", type=values.NATURAL, default=0, metavar="S", help="random seed (default 0)"
    )
    s.add_argument(
        "--video",
        type=values.count(2),
        metavar="T",
        help="write sequences of T >= 2 frames instead of single images",
    )
    s.add_argument(
        "--workers",
        type=values.POSITIVE,
        metavar="W",
        help="rendering processes (default: the number of CPUs)",
    )
    s.add_argument(
        "--profile",
        choices=("quick", "standard"),
        default="standard",
        help="difficulty: standard (cluttered, occluded, crowded scenes) or quick (plain "
        "backgrounds, one or two persons facing the camera: a small net learns it in "
        "minutes on a CPU); see docs/data.md",
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
    """`288x384` -> (288, 384); the argparse type of --size."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"must be HxW in pixels (height x width), e.g. 288x384; got {values.shown(text)}"
        )
    h, w = int(match.group(1)), int(match.group(2))
    lo, hi = SIZE_LIMITS
    if not (lo <= h <= hi and lo <= w <= hi):
        raise argparse.ArgumentTypeError(
            f"height and width must each be within {lo}..{hi} pixels, got {values.shown(text)}"
        )
    return h, w


parse_size.bad = ["96", "10x10", "64x4096"]  # for tests/cli/test_exit_codes.py


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
    from archc.runtime.pose.synth.writer import SynthError, check_output, synthesize

    _check_counts(args)
    size = args.size
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
                profile=args.profile,
            )
        except SynthError as err:
            raise CliFailure(str(err)) from None
        except OSError as err:
            raise CliFailure(describe(err, args.out)) from None
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
