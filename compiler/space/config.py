"""Configs: one value per choice, as an immutable mapping that reads and writes JSON.

A config is what a search algorithm proposes, what `derive` consumes and what a
training run records next to its checkpoint, so it must survive a round trip
through a file exactly and fail loudly when the file is not one of ours. The
file format is a small versioned JSON document:

    {"format": "archc-config", "version": 1, "space": "mobile_small",
     "choices": {"s1.w": 24, "s1.k": 5, "s1.att": true, ...}}

Values are JSON scalars only (ints, finite floats, bools, strings): every
choice kind (numbers, switches, op labels, input labels) is one of those, and
keeping them scalar makes configs hashable, so populations can be deduplicated.
Whether the values fit a particular space is `ChoiceTable.validate`'s business;
this module only checks the shape of the document.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from archc.kernel.diagnostics import shown_number, suggest
from archc.kernel.files import write_atomic

FORMAT = "archc-config"
VERSION = 1
_KEYS = ("format", "version", "space", "choices")
_SHOWN_CHARS = 30  # of a long string or name in messages


class ConfigError(ValueError):
    """A config file or a config that is not acceptable; `problems` lists every reason.

    The message is complete on its own (the CLI prints it as is); `problems` lets
    tools and tests look at the individual reasons.
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


def show(value: Any) -> str:
    """A value as it is written in a config file: `3`, `0.5`, `true`, `"relu"`.

    A huge number or a long string is shown by its start and its size: configs come
    from files anyone may hand over, and a message must stay one readable line."""
    if isinstance(value, int) and not isinstance(value, bool):
        return shown_number(value)
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return f"{json.dumps(value[:_SHOWN_CHARS] + '...')} ({len(value):,} characters)"
    return json.dumps(value) if _is_scalar(value) else repr(value)


def shown_name(name: Any) -> str:
    """A key or choice name for messages, between backquotes; a long one shortened."""
    text = str(name)
    if len(text) <= _SHOWN_CHARS:
        return f"`{text}`"
    return f"`{text[:_SHOWN_CHARS]}...` ({len(text):,} characters)"


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (bool, int, str))


def _kind_of(value: Any) -> str:
    """How a value is called in messages: `a list`, `null`, `3`, `"relu"`."""
    names = {list: "a list", tuple: "a list", dict: "an object", type(None): "null"}
    if isinstance(value, float) and not math.isfinite(value):
        return f"the non-finite number {value}"
    if _is_scalar(value):
        return show(value)
    return names.get(type(value), f"a Python {type(value).__name__}")


class Config(Mapping[str, Any]):
    """An immutable `{choice name: value}` mapping, optionally naming its space.

    Order is kept (a table's configs list choices in definition order, which is
    what a reader of the file expects). Two configs are equal when they name the
    same space and hold the same values; a config also equals a plain dict with
    the same items, so tests and callers can compare against literals.
    """

    __slots__ = ("_hash", "_space", "_values")

    def __init__(self, values: Mapping[str, Any] | None = None, space: str | None = None) -> None:
        values = dict(values or {})
        bad = [
            f"choice `{k}` is {_kind_of(v)}; values must be numbers, bools or strings"
            for k, v in values.items()
            if not _is_scalar(v)
        ]
        bad += [f"choice name {k!r} is not a string" for k in values if not isinstance(k, str)]
        if space is not None and not isinstance(space, str):
            bad.append(f"the space name must be a string, got {_kind_of(space)}")
        if bad:
            raise ConfigError(joined("not a valid config", bad), tuple(bad))
        self._values = values
        self._space = space
        self._hash: int | None = None

    @property
    def space(self) -> str | None:
        """The name of the space this config was made for, when known."""
        return self._space

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self.space == other.space and self._values == other._values
        return isinstance(other, Mapping) and self._values == dict(other.items())

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.space, frozenset(self._values.items())))
        return self._hash

    def __repr__(self) -> str:
        space = f", space={self.space!r}" if self.space is not None else ""
        return f"Config({self._values!r}{space})"

    def with_values(self, changes: Mapping[str, Any]) -> Config:
        """A copy with the values in `changes` set; the order of existing names is kept."""
        return Config({**self._values, **changes}, self.space)

    # ---- JSON

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of this config (a fresh dict the caller may change)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "space": self.space,
            "choices": dict(self._values),
        }

    def to_json(self) -> str:
        """The text of the config file: indented, keys in choice order, ending in a newline."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, doc: Any, source: str = "config") -> Config:
        """Check a parsed document and build its config; `source` prefixes the messages."""
        if not isinstance(doc, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {_kind_of(doc)}")
        problems = _header_problems(doc) + _choices_problems(doc.get("choices"))
        if problems:
            raise ConfigError(joined(f"{source}: not an archc config", problems), tuple(problems))
        return cls(doc["choices"], doc.get("space"))

    @classmethod
    def from_json(cls, text: str, source: str = "config") -> Config:
        """Parse config text; JSON errors are reported as `source:line:col: ...`."""
        try:
            doc = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"{source}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}"
            ) from None
        except _NotJson as err:
            raise ConfigError(f"{source}: {err.args[0]}") from None
        except RecursionError:
            raise ConfigError(f"{source}: invalid JSON: nested too deeply") from None
        except ValueError:  # an integer longer than Python converts (4,300 digits)
            raise ConfigError(f"{source}: invalid JSON: a number too long to read") from None
        return cls.from_dict(doc, source)

    # ---- files

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the config file atomically: readers see the old file or the new one.

        A search writes configs while other processes (training workers) read
        them; a temporary file in the same folder and `os.replace` make a
        half-written file impossible, even when the process is killed.
        """
        write_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Config:
        """Read and check a config file; every failure is a `ConfigError` naming the file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is allowed
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except IsADirectoryError:
            raise ConfigError(f"{path}: is a folder, not a config file") from None
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"
            ) from None
        except OSError as err:
            raise ConfigError(f"{path}: cannot read the config file: {err.strerror}") from None
        return cls.from_json(text, str(path))


class _NotJson(Exception):
    """What Python's `json` accepts but a config must not hold (it has no position)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON objects without repeated keys: `json` would silently keep the last value."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _NotJson(f"key {shown_name(key)} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _NotJson(f"invalid JSON: `{name}` is not a JSON number")


def _header_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    for key in doc:
        if key not in _KEYS:
            hint = suggest(key, _KEYS)
            problems.append(f"unknown key {shown_name(key)}" + (f"; {hint}" if hint else ""))
    if "format" not in doc:
        problems.append(f'missing `"format": "{FORMAT}"`')
    elif doc["format"] != FORMAT:
        problems.append(f'`format` is {_kind_of(doc["format"])}, expected "{FORMAT}"')
    version = doc.get("version")
    if "version" not in doc:
        problems.append(f"missing `version` (this archc writes version {VERSION})")
    elif isinstance(version, bool) or not isinstance(version, int):
        problems.append(f"`version` must be an integer, got {show(version)}")
    elif version != VERSION:
        problems.append(
            f"version {show(version)} is not supported (this archc reads version {VERSION})"
        )
    space = doc.get("space")
    if space is not None and not isinstance(space, str):
        problems.append(f"`space` must be a string, got {_kind_of(space)}")
    return problems


def _choices_problems(choices: Any) -> list[str]:
    if choices is None:
        return ["missing `choices` (an object mapping choice names to values)"]
    if not isinstance(choices, dict):
        return [
            f"`choices` must be an object mapping choice names to values, got {_kind_of(choices)}"
        ]
    return [
        f"choice `{k}` is {_kind_of(v)}; values must be numbers, bools or strings"
        for k, v in choices.items()
        if not _is_scalar(v)
    ]


def joined(head: str, problems: list[str]) -> str:
    """One problem on the head's line; several as an indented list below it."""
    if len(problems) == 1:
        return f"{head}: {problems[0]}"
    return head + ":\n" + "\n".join(f"  {p}" for p in problems)
