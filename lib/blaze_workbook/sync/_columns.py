"""Decoded records -> one typed frame per staging table, column by column.

Values are pulled out of the Structs a whole column at a time, judged by :mod:`._coerce`, and
turned into a frame; names, timestamps and shop-local dates are then polars expressions.
Rows holding a value that cannot be carried are reported (``_Columns.bad``) so the caller
quarantines their records.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import polars as pl

from ..errors import ConfigurationError
from . import _coerce
from ._schema import ENUMS, NON_NEGATIVE, PARENT, ColumnPlan, Path, TablePlan, aux_ms, aux_ref
from ._types import MONEY, NUMERIC, dtype, frame_schema, local_date, person_name, utc_instant


def walk(items: list[Any], path: Path) -> list[Any]:
    """Column-wise walk of ``path`` through decoded Structs (None stays None)."""
    out = items
    for seg in path:
        if isinstance(seg, int):
            out = [v[seg] if v is not None and len(v) > seg else None for v in out]
        else:
            out = [getattr(v, seg, None) if v is not None else None for v in out]
    return out


def _first(columns: list[list[Any]], *, skip_empty: bool) -> list[Any]:
    """Per row, the first alternative that holds a value."""
    if len(columns) == 1:
        return columns[0]
    out = []
    for row in zip(*columns, strict=True):
        chosen = None
        for v in row:
            if v is not None and not (skip_empty and v == ""):
                chosen = v
                break
        out.append(chosen)
    return out


class Columns:
    """The Python-side values of one table's columns, before they become a frame."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.data: dict[str, tuple[list[Any], pl.DataType]] = {}
        #: row -> reasons its record cannot be stored
        self.bad: dict[int, list[str]] = {}

    def put(self, name: str, result: _coerce.Result, typ: pl.DataType) -> None:
        self.data[name] = (result.values, typ)
        for i, reason in result.bad.items():
            self.bad.setdefault(i, []).append(reason)

    def values(self, name: str) -> list[Any]:
        return self.data[name][0]

    def require(self, name: str, reason: str) -> None:
        """Rows where ``name`` is empty cannot be stored."""
        for i, v in enumerate(self.values(name)):
            if not v:
                self.bad.setdefault(i, []).insert(0, reason)

    def keep(self) -> pl.Series:
        return pl.Series([i not in self.bad for i in range(self.n)], dtype=pl.Boolean())

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame([pl.Series(k, v, dtype=t, strict=True) for k, (v, t) in self.data.items()])


_HOW = {"text": "text", "name": "text", "lookup": "text", "money": "money", "numeric": "numeric", "bool": "bool"}


def coerce(how: str, raw: list[Any], where: str, drift: Counter[str]) -> _coerce.Result:
    if how == "text":
        return _coerce.text(raw, where, drift)
    if how == "money":
        return _coerce.number(raw, where, drift, scale=MONEY.scale)
    if how == "numeric":
        return _coerce.number(raw, where, drift, scale=NUMERIC.scale)
    if how == "bool":
        return _coerce.boolean(raw, where, drift)
    return _coerce.epoch_ms(raw, where, drift)


def _alternatives(
    plan: TablePlan, col: ColumnPlan, paths: tuple[Path, ...], how: str, records: list[Any], parent: list[Any] | None, drift: Counter[str]
) -> _coerce.Result:
    """Each path read and judged; per row the first that holds a value."""
    where = f"{plan.table.legacy}.{col.name}"
    results = []
    for path in paths:
        if path[0] == PARENT:
            if parent is None:
                raise ConfigurationError(f"{where} reads $parent but {plan.table.staging} has no parent")
            raw = walk(parent, path[1:])
        else:
            raw = walk(records, path)
        results.append(coerce(how, raw, where, drift))
    bad: dict[int, str] = {}
    for r in results:
        bad.update(r.bad)
    return _coerce.Result(_first([r.values for r in results], skip_empty=how == "text"), bad)


def columns(plan: TablePlan, records: list[Any], parent: list[Any] | None, drift: Counter[str]) -> Columns:
    """Every column of ``plan`` as judged Python lists (``parent``: the records ``$parent`` reads)."""
    cols = Columns(len(records))
    for col in plan.columns:
        kind = col.kind
        if kind == "name":  # the paths are parts, joined later
            for i, path in enumerate(col.paths):
                cols.put(f"__{col.name}_{i}", _alternatives(plan, col, (path,), "text", records, parent, drift), pl.String())
        elif kind == "lookup":
            direct = _alternatives(plan, col, col.paths, "text", records, parent, drift) if col.paths else _coerce.Result([None] * len(records))
            cols.put(col.name, direct, pl.String())
            assert col.ref is not None
            cols.put(aux_ref(col.name), _alternatives(plan, col, (col.ref,), "text", records, parent, drift), pl.String())
        elif kind in ("epoch_ms", "local_date"):
            target = col.name if kind == "epoch_ms" else aux_ms(col.name)
            cols.put(target, _alternatives(plan, col, col.paths, "epoch", records, parent, drift), pl.Int64())
        else:
            cols.put(col.name, _alternatives(plan, col, col.paths, _HOW[kind], records, parent, drift), dtype(kind))
    return cols


def _expressions(plan: TablePlan, timezone: str) -> list[pl.Expr]:
    out: list[pl.Expr] = []
    for col in plan.columns:
        if col.kind == "name":
            out.append(person_name(*(pl.col(f"__{col.name}_{i}") for i in range(len(col.paths)))).alias(col.name))
        elif col.kind == "epoch_ms":
            out.append(utc_instant(pl.col(col.name)).alias(col.name))
        elif col.kind == "local_date":
            out.append(local_date(pl.col(aux_ms(col.name)), timezone).alias(col.name))
    return out


def finish(plan: TablePlan, cols: Columns, timezone: str) -> pl.DataFrame:
    """The frame of the rows that can be stored, typed as :func:`frame_schema` says."""
    schema = frame_schema(plan.table)
    return (
        cols.frame()
        .lazy()
        .with_columns(_expressions(plan, timezone))
        .filter(cols.keep())
        .select(pl.col(name).cast(typ) for name, typ in schema.items())
        .collect()
    )


def count_enums(plan: TablePlan, frame: pl.DataFrame, drift: Counter[str]) -> None:
    """Values outside the swagger's enum are kept as sent and counted."""
    checks = _enum_checks(plan.table.legacy, tuple(c.name for c in plan.columns))
    if not checks or frame.is_empty():
        return
    for key, n in frame.select(checks).row(0, named=True).items():
        if n:
            drift[key] += n


@cache
def _enum_checks(legacy: str, names: tuple[str, ...]) -> list[pl.Expr]:
    """The checks of :func:`count_enums`, built once per table (an ``is_in`` literal built per
    page cost more than the check itself)."""
    return [
        ((pl.col(name) != "") & ~pl.col(name).is_in(list(allowed))).sum().alias(f"unknown_enum:{legacy}.{name}")
        for name in names
        if (allowed := ENUMS.get((legacy, name))) is not None
    ]


#: instants from here on are absurd (a clock or a field gone wrong: year 3000). A ``modified`` this
#: late would win every later merge, so its record is quarantined; any other column is counted.
PLAUSIBLE_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)
PLAUSIBLE_UNTIL_MS = int(PLAUSIBLE_UNTIL.timestamp() * 1000)
#: text longer than this (in bytes) is stored as sent and counted: Postgres takes it, a report may not
OVERSIZE_TEXT_BYTES = 65_536


def count_implausible(plan: TablePlan, frame: pl.DataFrame, drift: Counter[str]) -> None:
    """Values stored as sent but absurd, counted: negative quantities (and other columns that
    cannot be negative), instants from :data:`PLAUSIBLE_UNTIL` on, text over
    :data:`OVERSIZE_TEXT_BYTES`."""
    if frame.is_empty():
        return
    checks = _implausible_checks(plan.table.legacy, tuple(c.name for c in plan.columns), tuple(frame.schema.items()))
    if not checks:
        return
    for key, n in frame.select(checks).row(0, named=True).items():
        if n:
            drift[key] += n


@cache
def _implausible_checks(legacy: str, names: tuple[str, ...], schema: tuple[tuple[str, pl.DataType], ...]) -> list[pl.Expr]:
    """The checks of :func:`count_implausible`, built once per table and frame schema (a
    datetime literal costs milliseconds to build: per page it added up to seconds)."""
    types = dict(schema)
    checks: list[pl.Expr] = []
    for name in names:
        typ = types.get(name)
        if typ is None:
            continue
        if (legacy, name) in NON_NEGATIVE:
            checks.append((pl.col(name) < 0).sum().alias(f"negative_value:{legacy}.{name}"))
        if isinstance(typ, pl.Datetime):
            checks.append((pl.col(name) >= PLAUSIBLE_UNTIL).sum().alias(f"implausible_timestamp:{legacy}.{name}"))
        elif isinstance(typ, pl.Date):
            checks.append((pl.col(name) >= date(PLAUSIBLE_UNTIL.year, 1, 1)).sum().alias(f"implausible_timestamp:{legacy}.{name}"))
        elif isinstance(typ, pl.String):
            checks.append((pl.col(name).str.len_bytes() > OVERSIZE_TEXT_BYTES).sum().alias(f"oversize_text:{legacy}.{name}"))
    return checks
