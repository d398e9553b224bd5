"""Wall time of `archc check` on the largest example, as a ratio to `import archc`.

Both are run as fresh processes, interleaved, several times; the medians are
compared, so the ratio is measured in one run on one (noisy) machine. The
largest example is the one whose elaboration has the most graph nodes.

    python bench/check_speed.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from archc.dsl.frontend import check_file

ROOT = Path(__file__).resolve().parent.parent


def largest_example() -> tuple[Path, int]:
    sizes = []
    for path in sorted((ROOT / "examples").rglob("*.arch")):
        result = check_file(path)
        sizes.append((sum(len(s.nodes) for s in result.spaces), path))
    if not sizes:
        sys.exit("no examples under examples/")
    nodes, path = max(sizes)
    return path, nodes


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    path, nodes = largest_example()
    check = [sys.executable, "-m", "archc", "check", "-q", str(path)]
    bare = [sys.executable, "-c", "import archc"]
    timed(check)  # warm the file cache and bytecode
    checks, imports = [], []
    for _ in range(args.repeats):
        checks.append(timed(check))
        imports.append(timed(bare))
    c, i = statistics.median(checks), statistics.median(imports)
    print(f"largest example: {path.relative_to(ROOT)} ({nodes} graph nodes)")
    print(f"archc check     median {c * 1000:7.1f} ms over {args.repeats} runs")
    print(f"import archc    median {i * 1000:7.1f} ms over {args.repeats} runs")
    print(f"ratio check / import: {c / i:.2f}")


if __name__ == "__main__":
    main()
