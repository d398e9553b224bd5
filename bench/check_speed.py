"""Wall time of `archc check` on every example, as a ratio to `import archc`.

An editor runs `archc check` on every save, so what counts is the time of a
fresh process. Each example and a bare `python -c "import archc"` are run as
fresh processes, interleaved, several times; the medians are compared, so the
ratios are measured in one run on one (noisy) machine and never asserted.
The processes may write bytecode caches, as an editor's do (an environment
that sets PYTHONDONTWRITEBYTECODE would make every run compile archc's sources
again; `--no-bytecode` measures that case).

    python bench/check_speed.py [--repeats N] [--no-bytecode] [FILE...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


ENV = dict(os.environ)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def medians(commands: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """Median wall time of each command; rounds interleave the commands so that a
    slow moment of the machine spreads over all of them."""
    for cmd in commands.values():
        timed(cmd)  # warm the file cache and bytecode
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-bytecode", action="store_true", help="as PYTHONDONTWRITEBYTECODE=1")
    parser.add_argument("files", nargs="*", help="default: every .arch file under examples/")
    args = parser.parse_args()
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.no_bytecode:
        ENV["PYTHONDONTWRITEBYTECODE"] = "1"
    files = [Path(f).resolve() for f in args.files] or sorted((ROOT / "examples").rglob("*.arch"))
    bare = [sys.executable, "-c", "import archc"]
    commands = {"import archc": bare}
    for path in files:
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        commands[name] = [sys.executable, "-m", "archc", "check", "-q", str(path)]
    result = medians(commands, args.repeats)
    base = result["import archc"]
    width = max(len(n) for n in result)
    cache = "without" if args.no_bytecode else "with"
    print(f"median wall time over {args.repeats} runs (fresh processes, {cache} bytecode caches)")
    for name, t in result.items():
        print(f"{name:<{width}}  {t * 1000:7.1f} ms  {t / base:6.1f} x import")


if __name__ == "__main__":
    main()
