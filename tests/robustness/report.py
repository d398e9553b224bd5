"""`python tests/robustness/report.py [--only CATEGORY]`: run the hostile-input corpus
and print, per category, how many cases end clean, then every case that does not and
why, and the cases slower than 2 s."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.robustness.cases import SLOW_S, all_cases, run_case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="one category")
    args = parser.parse_args()
    clean, total, bad, slow = Counter(), Counter(), [], []
    home = os.getcwd()
    for case in all_cases():
        if args.only and case.category != args.only:
            continue
        with tempfile.TemporaryDirectory() as work:
            os.chdir(work)  # relative output paths of a case land in its own folder
            outcome = run_case(case, Path(work))
            os.chdir(home)
        total[case.category] += 1
        clean[case.category] += outcome.clean
        if not outcome.clean:
            bad.append((case.id, outcome.problems))
        if outcome.seconds > SLOW_S:
            slow.append((case.id, outcome.seconds))
    print(f"{'category':<16} {'clean':>6} {'not':>5} {'cases':>6}")
    for category in total:
        print(
            f"{category:<16} {clean[category]:>6} {total[category] - clean[category]:>5} "
            f"{total[category]:>6}"
        )
    print(
        f"{'all':<16} {sum(clean.values()):>6} {sum(total.values()) - sum(clean.values()):>5} "
        f"{sum(total.values()):>6}"
    )
    for case_id, problems in bad:
        print(f"NOT CLEAN {case_id}: {'; '.join(problems)}")
    for case_id, seconds in slow:
        print(f"SLOW {case_id}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
