"""Loading files and their imports; building each module's global names.

`import std` brings in every block of the standard library, `import std.mobile`
one of its files, `import "blocks/mine.arch"` a file relative to the importing
one; `import X as ns` keeps the names under `ns.`. The prelude (primitive op
declarations) is visible everywhere. Import cycles are reported with the chain.
No file is ever executed: an `.arch` file only declares.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from archc.dsl import ast
from archc.dsl.diagnostics import ArchError, Diagnostic, fail, suggest
from archc.dsl.parser import parse
from archc.dsl.span import Span
from archc.grammars import STD_DIR

PRELUDE = "std/prelude.arch"
MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    key: str  # the name diagnostics use: the user's path, or std/NAME.arch
    path: Path
    text: str
    module: ast.Module
    imports: tuple[tuple[ast.Import, tuple[str, ...]], ...]  # import -> loaded keys


def std_modules() -> list[str]:
    return sorted(p.stem for p in STD_DIR.glob("*.arch") if p.stem != "prelude")


def read_source(path: Path, key: str, span: Span | None = None) -> str:
    """Read a user file, turning every OS-level problem into a located diagnostic."""
    where = span or Span.point(key, 1, 1)
    if path.suffix != ".arch":
        raise fail(
            "E010",
            f"`{key}` is not an .arch file",
            where,
            hint="`import` loads .arch files only" if span else None,
        )
    if not path.exists():
        raise fail(
            "E011",
            f"no such file `{key}`",
            where,
            hint="an import path is relative to the folder of the importing file" if span else None,
        )
    if not path.is_file():
        raise fail("E012", f"`{key}` is not a regular file", where)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise fail("E013", f"`{key}` is larger than {MAX_FILE_BYTES // 2**20} MiB", where)
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise fail("E014", f"`{key}` is not UTF-8 text (byte {err.start})", where) from None
    except OSError as err:
        raise fail("E015", f"cannot read `{key}`: {err.strerror}", where) from None


class Loader:
    """Parses a root file and everything it imports, once each."""

    def __init__(self) -> None:
        self.files: dict[str, SourceFile] = {}
        self.diagnostics: list[Diagnostic] = []

    def sources(self) -> dict[str, str]:
        return {k: f.text for k, f in self.files.items()}

    def load_root(self, path: str | os.PathLike, text: str | None = None) -> SourceFile | None:
        key = str(path)
        self._load(PRELUDE, STD_DIR / "prelude.arch", None, [])
        return self._load(key, Path(path), None, [], text)

    def _load(
        self, key: str, path: Path, span: Span | None, stack: list[str], text: str | None = None
    ) -> SourceFile | None:
        if key in stack:
            chain = " -> ".join([*stack[stack.index(key) :], key])
            self.diagnostics.append(
                Diagnostic(
                    "E016",
                    f"import cycle: {chain}",
                    span,
                    hint="move what both files need into a third file that each imports",
                )
            )
            return None
        if key in self.files:
            return self.files[key]
        try:
            text = text if text is not None else read_source(path, key, span)
            module = parse(text, key)
        except ArchError as err:
            self.diagnostics.extend(err.diagnostics)
            self.files.setdefault(key, SourceFile(key, path, text or "", _empty(key), ()))
            return None
        imports = []
        for item in module.items:
            if isinstance(item, ast.Import):
                keys = self._import(item, key, path, [*stack, key])
                imports.append((item, keys))
        loaded = SourceFile(key, path, text, module, tuple(imports))
        self.files[key] = loaded
        return loaded

    def _import(self, item: ast.Import, key: str, path: Path, stack: list[str]) -> tuple[str, ...]:
        try:
            targets = self._targets(item, key, path)
        except ArchError as err:
            self.diagnostics.extend(err.diagnostics)
            return ()
        loaded = [self._load(k, p, item.span, stack) for k, p in targets]
        return tuple(f.key for f in loaded if f is not None)

    def _targets(self, item: ast.Import, key: str, path: Path) -> list[tuple[str, Path]]:
        if item.is_path:
            if os.path.isabs(item.module):
                raise fail("E017", "import paths are relative to the importing file", item.span)
            target = path.parent / item.module
            return [(os.path.normpath(os.path.join(os.path.dirname(key), item.module)), target)]
        parts = item.module.split(".")
        if parts[0] != "std" or len(parts) > 2:
            raise fail(
                "E018",
                f"unknown module `{item.module}`",
                item.span,
                hint="the standard library is `std` or `std.NAME`; import files "
                'with a quoted relative path: `import "blocks.arch"`',
            )
        names = std_modules() if len(parts) == 1 else [parts[1]]
        if parts[1:] and parts[1] not in std_modules():
            raise fail(
                "E018",
                f"the standard library has no module `{parts[1]}`",
                item.span,
                hint=suggest(parts[1], std_modules())
                or (
                    f"modules: {', '.join(std_modules())}"
                    if std_modules()
                    else "it has only the prelude, whose ops are visible without an import"
                ),
            )
        return [(f"std/{n}.arch", STD_DIR / f"{n}.arch") for n in names]


def _empty(key: str) -> ast.Module:
    return ast.Module(span=Span.point(key, 1, 1), path=key)
