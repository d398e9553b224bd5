"""Batched cost: params and MACs of many configs at once (`Space.cost_many`).

A search scores populations, not single configs, and `Space.cost` spends most
of its time in Python per config (validation, one dict lookup per table). Here
the configs become one index matrix (each value's position in its choice's
possible values, found with C-level `map` over per-choice dicts), and each
tabulated group of the cost model (`model.CostModel`) becomes a numpy
array gathered at the mixed-radix index of its choices: a few vector ops per
group for the whole batch. The result equals `Space.cost` exactly (int64 sums
of the same integers).

Validation is vectorised too: a value must be among its choice's possible
values with an exact type the choice takes, and a dependent choice's value must
be in the domain its parents give (a boolean table over parents x value). When
any config fails that check (or is not a plain dict or a `Config` of this
space), every config is validated by `ChoiceTable.validate` in order, so a bad
config raises exactly the error `Space.cost` would.

What stays per config: terms of groups too large to tabulate (`model.direct`),
evaluated symbolically only when the model has any; weight sharers
(`shared_cost`) are joined once per distinct pair of table rows in the batch.
Numpy is imported here only, so the compiler itself does not need it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from archc.compiler.cost.count import Cost
from archc.compiler.cost.latency_model import LatencyModel
from archc.compiler.cost.model import CostModel, _sum_terms
from archc.compiler.space.config import Config, ConfigError
from archc.compiler.space.table import ChoiceTable

MAX_CHECK = 1_000_000  # entries of one dependent choice's validity table
_TYPES = {"int": {int}, "float": {int, float}, "bool": {bool}, "str": {str}, "op": {str}}


@dataclass(frozen=True, eq=False)
class CostBatch:
    """Costs of a batch in the configs' order: int64 `params` and `macs`, and float64
    `latency_ms` when a latency table was given (else None). The arrays are read-only
    (compare them with numpy, not `==` on the batch)."""

    params: np.ndarray
    macs: np.ndarray
    latency_ms: np.ndarray | None = None

    def __post_init__(self) -> None:
        for array in (self.params, self.macs, self.latency_ms):
            if array is not None:
                array.flags.writeable = False

    def __len__(self) -> int:
        return len(self.params)

    def __getitem__(self, i: int) -> Cost:
        """The `i`-th cost as `Space.cost` returns it."""
        latency = None if self.latency_ms is None else float(self.latency_ms[i])
        return Cost(int(self.params[i]), int(self.macs[i]), latency)


class BatchCostModel:
    """`model(configs) -> (params, macs)` arrays; built once per cost model."""

    def __init__(self, model: CostModel, table: ChoiceTable):
        self.model, self.table = model, table
        self.names = table.names
        self._column = {name: i for i, name in enumerate(self.names)}
        values = model.values
        self._index = [{v: i for i, v in enumerate(values[n])} for n in self.names]
        self._global, self._local = self._value_codes()
        self._types = [_types_of(c) for c in table.choices]
        if len(self.names) == 1:
            self._getter = lambda row, name=self.names[0]: (row[name],)
        else:
            self._getter = itemgetter(*self.names)
        self._checks = [self._check(c) for c in table.choices if c.dependent]
        self._gathers = [self._gather(names, t) for names, t in model.tables]
        self._joins: list[dict[int, int]] = [{} for _ in model.shared]
        self._latency: tuple[LatencyModel, list] | None = None  # the last one's gathers

    # ---- building

    def _radix(self, names: Sequence[str]) -> tuple[list[int], list[int]]:
        """Columns of `names` and their mixed-radix strides (the last varies fastest,
        as in `itertools.product`, which built the tables)."""
        sizes = [len(self.model.values[n]) for n in names]
        strides = [math.prod(sizes[i + 1 :]) for i in range(len(sizes))]
        return [self._column[n] for n in names], strides

    def _value_codes(self) -> tuple[dict, np.ndarray]:
        """One code per distinct value over all choices (equal values share one: 1 and
        1.0), and per choice the position of each code in its values (-1: not one).

        One dict lookup per value of the whole batch, then one numpy gather,
        beats one dict per choice (the batch would be transposed in Python)."""
        codes: dict = {}
        for index in self._index:
            for v in index:
                codes.setdefault(v, len(codes))
        local = np.full((len(self._index), max(len(codes), 1)), -1, dtype=np.intp)
        for i, index in enumerate(self._index):
            for v, code in codes.items():
                if v in index:
                    local[i, code] = index[v]
        return codes, local

    def _gather(self, names: tuple[str, ...], table: dict) -> tuple:
        """A group's table as two flat arrays in product order (dicts keep insertion order)."""
        cols, strides = self._radix(names)
        rows = np.array(list(table.values()), dtype=np.int64).reshape(-1, 2)
        return cols, strides, rows[:, 0].copy(), rows[:, 1].copy()

    def _check(self, choice) -> tuple | None:
        """Which values a dependent choice may take under each combination of its
        parents' values, or None when that table is too large (then validate)."""
        names = (*choice.parents, choice.name)
        cols, strides = self._radix(names)
        values = [self.model.values[n] for n in choice.parents]
        size = math.prod(len(v) for v in values) * len(self.model.values[choice.name])
        if size > MAX_CHECK:
            return None
        allowed = np.zeros(size, dtype=bool)
        index = self._index[self._column[choice.name]]
        for flat, combo in enumerate(np.ndindex(*(len(v) for v in values))):
            parents = {
                p: values[k][i] for k, (p, i) in enumerate(zip(choice.parents, combo, strict=True))
            }
            try:
                domain = self.table.domain_of(choice.name, parents)
            except (ConfigError, ArithmeticError, ValueError):
                continue  # parents that cannot occur together
            for v in domain:
                if v in index:
                    allowed[flat * len(index) + index[v]] = True
        return cols, strides, allowed

    # ---- evaluating

    def __call__(self, configs: Sequence[Mapping[str, Any] | None]) -> tuple[np.ndarray, ...]:
        """(params, macs) of `configs`; `ConfigError` as from `Space.cost` for a bad one."""
        return self.costs(*self.encode(configs))

    def encode(self, configs: Sequence[Mapping[str, Any] | None]) -> tuple[list[dict], np.ndarray]:
        """The configs' value dicts and their (choices x configs) index matrix, each
        config validated (`ConfigError` as from `Space.cost` for the first bad one)."""
        rows = self._rows(configs)
        codes = None if rows is None else self._encode(rows, strict=True)
        if codes is None:
            rows = [self.table.validate(c or {})._values for c in configs]
            codes = self._encode(rows, strict=False)
        return rows, codes

    def costs(self, rows: list[dict], codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(params, macs) of encoded configs."""
        params = np.full(len(rows), self.model.constant.params, dtype=np.int64)
        macs = np.full(len(rows), self.model.constant.macs, dtype=np.int64)
        for cols, strides, p, m in self._gathers:
            flat = _flat(codes, cols, strides)
            params += p[flat]
            macs += m[flat]
        if self.model.direct:  # too many choices to tabulate: per config
            direct = [_sum_terms(self.model.direct, r) for r in rows]
            params += np.array([p for p, _ in direct], dtype=np.int64)
            macs += np.array([m for _, m in direct], dtype=np.int64)
        for group, memo in zip(self.model.shared, self._joins, strict=True):
            params += self._shared(group, memo, codes)
        return params, macs

    def latency(self, model: LatencyModel, rows: list[dict], codes: np.ndarray) -> np.ndarray:
        """Predicted ms of encoded configs: the latency model's tables gathered like the
        cost tables (its axes are the cost model's values). A config that reaches a unit
        the latency table lacks raises `predict`'s error."""
        if self._latency is None or self._latency[0] is not model:
            gathers = [
                (*self._radix(names), np.array(list(t.values()))) for names, t in model.tables
            ]
            self._latency = (model, gathers)
        out = np.full(len(rows), model.constant, dtype=np.float64)
        for cols, strides, values in self._latency[1]:
            out += values[_flat(codes, cols, strides)]
        if model.direct:
            out += np.array([model.direct_ms(r) for r in rows], dtype=np.float64)
        for i in np.flatnonzero(np.isnan(out)).tolist():
            out[i] = model(rows[i])  # raises the latency table's error for the missing unit
        return out

    def _rows(self, configs: Sequence[Any]) -> list[dict] | None:
        """The configs' value dicts, or None unless all are dicts or `Config`s of this space."""
        rows, space = [], self.table.space
        for c in configs:
            kind = type(c)
            if kind is dict:
                rows.append(c)
            elif kind is Config and c._space in (None, space):
                rows.append(c._values)
            else:
                return None
        return rows

    def _encode(self, rows: list[dict], strict: bool) -> np.ndarray | None:
        """The (choices x configs) index matrix, or None when `strict` and a config may
        be invalid (wrong keys, an unknown value or type, a value outside its domain)."""
        n = len(self.names)
        if not n:
            return np.zeros((0, len(rows)), dtype=np.intp) if not any(rows) else None
        if strict and rows and set(map(len, rows)) != {n}:
            return None
        try:
            table = list(map(self._getter, rows))
            if strict and not all(map(self._typed, set(map(_types, table)))):
                return None
            flat = list(map(self._global.__getitem__, itertools.chain.from_iterable(table)))
        except (KeyError, TypeError):  # an unknown or unhashable value
            if strict:
                return None
            raise
        values = np.array(flat, dtype=np.intp).reshape(len(rows), n).T
        codes = self._local[np.arange(n)[:, None], values]
        if strict and (codes < 0).any():  # a value of another choice
            return None
        if strict and not all(self._allowed(codes, check) for check in self._checks):
            return None
        return codes

    def _typed(self, types: tuple[type, ...]) -> bool:
        """Whether a row's value types (`_types`) are each one its choice takes."""
        return all(t in allowed for t, allowed in zip(types, self._types, strict=True))

    @staticmethod
    def _allowed(codes: np.ndarray, check: tuple | None) -> bool:
        if check is None:
            return False
        cols, strides, allowed = check
        return bool(allowed[_flat(codes, cols, strides)].all())

    def _shared(self, group, memo: dict[int, int], codes: np.ndarray) -> np.ndarray:
        """The group's params per config: joined once per distinct (sharer row, owner row)."""
        mine_cols, mine_strides = self._radix(group.names[0])
        their_cols, their_strides = self._radix(group.names[1])
        theirs = math.prod(len(self.model.values[n]) for n in group.names[1])
        pair = _flat(codes, mine_cols, mine_strides) * theirs
        pair += _flat(codes, their_cols, their_strides)
        unique, inverse = np.unique(pair, return_inverse=True)
        out = np.empty(len(unique), dtype=np.int64)
        for k, code in enumerate(unique.tolist()):
            if code not in memo:
                mine, their = divmod(code, theirs)
                memo[code] = group.join(
                    self._combo(group.names[0], mine), self._combo(group.names[1], their)
                )
            out[k] = memo[code]
        return out[inverse.reshape(-1)]

    def _combo(self, names: tuple[str, ...], flat: int) -> tuple:
        """The values of `names` at mixed-radix position `flat`."""
        out = []
        for name in reversed(names):
            flat, i = divmod(flat, len(self.model.values[name]))
            out.append(self.model.values[name][i])
        return tuple(reversed(out))


def _flat(codes: np.ndarray, cols: list[int], strides: list[int]) -> np.ndarray:
    """Mixed-radix row index of each config in a table over the columns `cols`."""
    if not cols:
        return np.zeros(codes.shape[1], dtype=np.intp)
    flat = codes[cols[-1]].copy()  # the last stride is 1
    for col, stride in zip(cols[:-1], strides[:-1], strict=True):
        flat += codes[col] * stride
    return flat


def _types(row: tuple) -> tuple[type, ...]:
    return tuple(map(type, row))


def _types_of(choice) -> set[type]:
    """The exact value types the fast path accepts.

    Numbers and bools must be checked (`True == 1 == 1.0` share a dict key); a
    subclass (a numpy float) is left to `validate`.
    """
    if choice.kind == "input":
        return {type(v) for v in choice.domain or ()} or {str}
    return _TYPES[choice.kind]
