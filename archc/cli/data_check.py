"""`archc data check DIR`: validate a COCO-format keypoint data set (docs/data.md).

The same check runs at the start of `train`, `eval`, `supernet train` and every
`search` (`runtime.train.data.find_split`), before a run folder is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from archc.cli.common import CliFailure

SPLITS = ("train", "val")


def register(actions: argparse._SubParsersAction) -> None:
    c = actions.add_parser(
        "check",
        help="validate a COCO keypoints data set before training on it",
        description="Check DIR/annotations/person_keypoints_SPLIT.json and the image headers "
        "of DIR/images/SPLIT/: ids, keypoint counts and values, visibility, boxes, image "
        "files (present, readable, inside the folder, of the annotated size) and the "
        "category's keypoint names. Lists the first 20 problems and counts the rest; "
        "crowd regions and persons without labelled keypoints are counted as skipped. "
        "Exit 0 when the data set is usable, 1 otherwise.",
    )
    c.add_argument("dir", metavar="DIR")
    c.add_argument(
        "--split",
        action="append",
        choices=SPLITS,
        help="check only this split (repeatable; default: train and val)",
    )
    c.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    from archc.runtime.pose.coco_json import PoseDataError
    from archc.runtime.pose.validate import check_split, split_files

    reports = []
    for split in args.split or SPLITS:
        try:
            ann, images = split_files(Path(args.dir), split)
        except PoseDataError as err:
            raise CliFailure(str(err)) from None
        reports.append(check_split(ann, images))
    for report in reports:
        print(report.summary())
    bad = [r for r in reports if not r.ok]
    if bad:
        raise CliFailure("\n".join(r.render() for r in bad))
    return 0
