"""A registry of per-op records, filled by the modules of one op family each.

The compiler keeps one (`compiler.ops`: shape, params and MACs rules) and the torch
side another (`runtime.ops`: modules, elastic modules, exports). Both need the same
three things, so they are written once here: a record registers once (a second
registration of a name is a bug, not an override), the family modules are imported
on the first lookup (so importing the registry stays cheap), and an unknown name fails
loudly with the nearest names instead of falling back to something.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from archc.kernel.diagnostics import suggest


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Records by op name; `what` names a record in messages ("rule", "torch record")."""

    def __init__(self, what: str, package: str, families: Iterable[str]):
        self.what, self.package, self.families = what, package, tuple(families)
        self.entries: dict[str, T] = {}
        self._loaded = False

    def register(self, *records: T) -> None:
        for record in records:
            if record.name in self.entries:
                raise ValueError(f"op `{record.name}` has two {self.what}s")
            self.entries[record.name] = record

    def get(self, name: str) -> T:
        """The record of op `name`; an unknown name fails with the nearest names."""
        if not self._loaded:
            self.load()
        try:
            return self.entries[name]
        except KeyError:
            hint = suggest(name, self.entries) or ""
            raise KeyError(f"no {self.what} for op `{name}`. {hint}".strip()) from None

    def all(self) -> dict[str, T]:
        self.load()
        return dict(self.entries)

    def load(self) -> None:
        """Import the family modules once; each registers its records on import."""
        if self._loaded:
            return
        self._loaded = True
        for family in self.families:
            importlib.import_module(f"{self.package}.{family}")
