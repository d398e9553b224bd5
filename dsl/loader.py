"""Loading files and their imports; building each module's global names.

`import std` brings in every block of the standard library, `import std.mobile`
one of its files, `import "blocks/mine.arch"` a file relative to the importing
one; `import X as ns` keeps the names under `ns.`. The prelude (primitive op
declarations) is visible everywhere. Import cycles are reported with the chain.
No file is ever executed: an `.arch` file only declares.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path

from archc.dsl import ast
from archc.dsl.parser import parse
from archc.dsl.std_cache import parse_std
from archc.grammars import STD_DIR
from archc.kernel.diagnostics import ArchError, Diagnostic, fail, suggest
from archc.kernel.span import Span

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
    """Read a user file, turning every OS-level problem into a located diagnostic.

    The suffix is checked on the path as written and on the file it resolves to, before
    anything is read: an import through a symbolic link must not read (and echo in an
    excerpt) a file that is not an .arch file.
    """
    where = span or Span.point(key, 1, 1)
    try:
        real = path.resolve()
        _check_file(path, real, key, where, imported=span is not None)
        if real.stat().st_size > MAX_FILE_BYTES:
            raise fail("E013", f"`{key}` is larger than {MAX_FILE_BYTES // 2**20} MiB", where)
        data = real.read_bytes()
    except OSError as err:
        reason = "its name is too long" if err.errno == errno.ENAMETOOLONG else err.strerror
        raise fail("E015", f"cannot read `{_short(key)}`: {reason}", where) from None
    except RuntimeError:  # pathlib's resolve() on a symbolic link that leads to itself
        loop = f"cannot read `{_short(key)}`: a loop of symbolic links"
        raise fail("E015", loop, where) from None
    try:
        return LONE_CR.sub("\n", data.decode("utf-8").removeprefix(BOM))
    except UnicodeDecodeError as err:
        raise fail("E014", f"`{key}` is not UTF-8 text (byte {err.start})", where) from None


BOM = "\ufeff"  # a UTF-8 byte-order mark, written by some Windows editors
LONE_CR = re.compile(r"\r(?!\n)")  # a line end of classic Mac OS (CR alone)


def _check_file(path: Path, real: Path, key: str, where: Span, imported: bool) -> None:
    for suffix, linked in ((path.suffix, False), (real.suffix, True)):
        if suffix != ".arch":
            raise fail(
                "E010",
                f"`{_short(key)}` is not an .arch file"
                + (f": it is a link to `{_short(real.name)}`" if linked else ""),
                where,
                hint="`import` loads .arch files only" if imported else None,
            )
    if not real.exists():
        raise fail(
            "E011",
            f"no such file `{_short(key)}`",
            where,
            hint="an import path is relative to the folder of the importing file"
            if imported
            else None,
        )
    if not real.is_file():
        raise fail("E012", f"`{_short(key)}` is not a regular file", where)


def _short(name: str, limit: int = 120) -> str:
    """A file name for a message: very long ones keep their start and end."""
    return name if len(name) <= limit else f"{name[:60]}...{name[-40:]}"


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
            text = text.removeprefix(BOM) if text is not None else read_source(path, key, span)
            text = LONE_CR.sub("\n", text)  # old Mac line ends: else one line, all comment
            std = key.startswith("std/") and path.parent == STD_DIR
            module = parse_std(text, key) if std else parse(text, key)
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
