"""Render every example search space to an SVG picture (`make pictures`).

docs/examples.md shows one picture per space in examples/spaces/. The pictures are
generated output, not drawn by hand and not committed (docs/pictures/ is in
.gitignore): this script makes them from the .arch files with the archc Python API,
folded at a fixed scope depth so that a whole space fits on a page, as
`archc viz FILE --depth 2 -o FILE.svg` would.

    python scripts/pictures.py                    # every space -> docs/pictures/NAME.svg
    python scripts/pictures.py --only mobile_small --out /tmp/pics --depth 3

Rendering needs graphviz's `dot` program; without it the script says so and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import archc
from archc.compiler.backends.graphviz import RenderError, render, to_dot
from archc.kernel import diagnostics

ROOT = Path(__file__).resolve().parent.parent
SPACES = ROOT / "examples" / "spaces"
DEFAULT_OUT = ROOT / "docs" / "pictures"


def spaces() -> dict[str, Path]:
    """The example spaces by name (the file name without `.arch`), sorted."""
    return {path.stem: path for path in sorted(SPACES.glob("*.arch"))}


def parse_args(argv: list[str] | None, available: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Render every search space in examples/spaces/ to OUT/NAME.svg."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="folder for the pictures (default docs/pictures)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="render only this space (repeatable)",
    )
    parser.add_argument(
        "--depth",
        type=int,
        default=2,
        metavar="N",
        help="fold scopes nested deeper than N into one box (default 2)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.only if name not in available]
    if unknown:
        parser.error(f"unknown space {', '.join(unknown)}; available: {', '.join(available)}")
    if args.depth < 1:
        parser.error("--depth must be at least 1")
    return args


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    available = spaces()
    args = parse_args(argv, list(available))
    names = args.only or list(available)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in dict.fromkeys(names):  # each once, in the order given
        start = time.perf_counter()
        out_path = args.out / f"{name}.svg"
        try:
            space = archc.load(available[name])
            render(to_dot(space.graph, depth=args.depth), out_path)
        except diagnostics.ArchError as err:
            print(diagnostics.render(err.diagnostics), file=sys.stderr)
            print(f"pictures: {available[name]} has errors", file=sys.stderr)
            return 1
        except RenderError as err:
            print(f"pictures: {name}: {err}", file=sys.stderr)
            return 1
        print(f"wrote {_shown(out_path)} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
