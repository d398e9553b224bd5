"""`archc report RUN_DIR [-o OUT.html]`: one self-contained HTML page for a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from archc.cli.common import CliFailure
from archc.cli.os_errors import describe

PAGE = "report.html"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write an HTML report of a search or training run",
        description="Write one self-contained HTML page (pictures inlined) for RUN_DIR, a "
        "folder of `archc search`, `archc supernet train` or `archc train`: the Pareto "
        "plot, the space and found-subnet drawings, the best configs, the training "
        "curves and the run's records. A run still going is reported as far as it got.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "-o", "--output", metavar="OUT.html", help=f"the page to write (default RUN_DIR/{PAGE})"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archc.runtime.report import ReportError, read_run, write_report

    out = Path(args.output) if args.output else Path(args.run_dir) / PAGE
    if out.suffix.lower() not in (".html", ".htm"):
        raise CliFailure(f"{out}: a report is an HTML page; name it *.html")
    try:
        folder = read_run(args.run_dir)
        write_report(folder, out)
    except ReportError as err:
        raise CliFailure(str(err)) from None
    except OSError as err:
        raise CliFailure(describe(err, str(out))) from None
    print(f"wrote {out} ({folder.kind} of {folder.name}, {out.stat().st_size / 1024:,.0f} KB)")
    return 0
