"""Parsed standard-library modules, kept between processes.

Every check parses the prelude and the std modules it imports (about 90 ms for
a small net, more than checking the net itself), and they change only with
archc. A parsed module is pickled into archc's private per-user cache
(`parser.cache_dir`), under a digest of its text and of the code that makes the
AST (grammar, transformer, AST classes, lark and pydantic versions), so an
entry is never read for another text or another parser. Only std modules are
kept: a user's file changes on every save, and the cache would grow without end.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path

from archc.dsl import ast
from archc.dsl.parser import cache_dir, parse


def parse_std(text: str, key: str) -> ast.Module:
    """`parse(text, key)`, read from the cache when this text was parsed before."""
    entry = _entry(text, key)
    if entry is not None and entry.exists():
        try:
            module = pickle.loads(entry.read_bytes())
        except Exception:  # a damaged or foreign entry: parse again and replace it
            module = None
        if isinstance(module, ast.Module):
            return module
    module = parse(text, key)
    if entry is not None:
        _store(entry, module)
    return module


def _entry(text: str, key: str) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    digest = hashlib.sha256(f"{_code_digest()}\0{key}\0{text}".encode()).hexdigest()[:32]
    return root / f"std-{digest}.ast"


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """What a parsed module depends on besides its text."""
    import lark
    import pydantic

    from archc.dsl import parser, transform
    from archc.grammars import GRAMMAR_PATH
    from archc.kernel import span

    # Span's module path too: a pickle names the classes' modules (span.py moved to
    # archc.kernel without changing its text).
    parts = [lark.__version__, pydantic.VERSION, span.Span.__module__, GRAMMAR_PATH.read_text()]
    parts += [Path(m.__file__).read_text() for m in (ast, parser, span, transform)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _store(entry: Path, module: ast.Module) -> None:
    """Write atomically (another check may read it at the same time); a failure only
    means the next check parses again."""
    try:
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".std-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(module, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except Exception:  # a full disk, a tree too deep to pickle: nothing is kept
        with contextlib.suppress(OSError):
            os.unlink(tmp)
