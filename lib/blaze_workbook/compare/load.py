"""Thin loaders: the compare's inputs as polars frames, from wherever they live.

- the existing tables from Postgres (:func:`existing_from_postgres`), as they were before
  01_setup: the columns 01_setup added (marked by its column comment) are left out;
- the Blaze staging tables from Postgres (:func:`staging_from_postgres`) or from the sync's
  DuckDB warehouse (:func:`staging_from_warehouse`);
- either side from a folder of exports, ``<table>.parquet`` or ``<table>.csv``
  (:func:`from_folder`; CSV is read as text and typed by the compare's rules).

Postgres tables are streamed with ``COPY … TO STDOUT`` as CSV into polars (no ADBC, no row
objects), each column selected in a form that parses exactly: timestamps as epoch
microseconds, numerics as their text (read as ``Decimal``), dates in ISO. Existing rows are
ordered by their ``id`` and staged rows by their key, which fixes the pairing order of repeated
item keys (see :mod:`.engine`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import polars as pl
import psycopg
from psycopg import sql

from ..errors import ConfigurationError, DatabaseError
from ..mapping import TABLES, Table, table as mapped_table
from ..postgres import translated
from .coerce import DECIMAL

_INTEGER = ("smallint", "integer", "bigint")
_FLOAT = ("real", "double precision")


def _select(name: str, pg_type: str) -> tuple[sql.Composable, pl.DataType]:
    """How one column is selected into CSV and the polars type it is read as."""
    col = sql.Identifier(name)
    base = pg_type.split("(")[0].strip()
    if base in ("timestamp with time zone", "timestamp without time zone"):
        return sql.SQL("(extract(epoch FROM {c}) * 1000000)::bigint AS {c}").format(c=col), pl.Int64()
    if base in _INTEGER:
        return col, pl.Int64()
    if base in _FLOAT:
        return col, pl.Float64()
    return col, pl.String()


def _retype(frame: pl.DataFrame, types: Mapping[str, str]) -> pl.DataFrame:
    exprs = []
    for name, pg_type in types.items():
        base = pg_type.split("(")[0].strip()
        c = pl.col(name)
        if base == "timestamp with time zone":
            exprs.append(pl.from_epoch(c, time_unit="us").dt.replace_time_zone("UTC").alias(name))
        elif base == "timestamp without time zone":
            exprs.append(pl.from_epoch(c, time_unit="us").alias(name))
        elif base == "numeric":
            exprs.append(c.str.to_decimal(scale=DECIMAL.scale).alias(name))
        elif base == "date":
            exprs.append(c.str.to_date("%Y-%m-%d").alias(name))
        elif base == "boolean":
            exprs.append(pl.when(c == "t").then(True).when(c == "f").then(False).otherwise(None).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def read_table(conn: psycopg.Connection, schema: str, table: str, columns: Mapping[str, str], order_by: Iterable[str] = ()) -> pl.DataFrame:
    """``schema.table``'s ``columns`` (name -> Postgres type) as a typed frame, via COPY."""
    selected = [_select(n, t) for n, t in columns.items()]
    if not selected:
        raise ConfigurationError(f"no columns to read from {schema}.{table}")
    order = list(order_by)
    query = sql.SQL("COPY (SELECT {cols} FROM {t}{order}) TO STDOUT (FORMAT csv, HEADER true)").format(
        cols=sql.SQL(", ").join(s for s, _ in selected),
        t=sql.Identifier(schema, table),
        order=sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(map(sql.Identifier, order))) if order else sql.SQL(""),
    )
    buffer = io.BytesIO()
    with translated(f"reading {schema}.{table}"), conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        with conn.cursor() as cur, cur.copy(query) as copy:
            for chunk in copy:
                buffer.write(chunk)
    buffer.seek(0)
    schema_ = {n: dtype for n, (_, dtype) in zip(columns, selected, strict=True)}
    if buffer.getbuffer().nbytes == 0:
        frame = pl.DataFrame(schema=schema_)
    else:
        frame = pl.read_csv(buffer, schema=schema_)
    return _retype(frame, columns)


def _catalog(conn: psycopg.Connection, schema: str):  # noqa: ANN202 - phase1.Relation
    from ..phase1 import catalog

    with translated(f"reading the catalog of schema {schema!r}"), conn.transaction():
        return catalog(conn, schema)


def existing_from_postgres(conn: psycopg.Connection, *, schema: str = "public", tables: Iterable[str] | None = None) -> dict[str, pl.DataFrame]:
    """The existing tables, without the columns 01_setup added, ordered by ``id``."""
    cat = _catalog(conn, schema)
    out: dict[str, pl.DataFrame] = {}
    for t in _tables(tables):
        rel = cat.get(t.legacy)
        if rel is None:
            raise DatabaseError(f"the existing table {schema}.{t.legacy} does not exist", hint="check DATABASE_URL and the schema parameter")
        added = rel.added_by_workbook()
        columns = {n: typ for n, typ in rel.columns.items() if n not in added}
        order = ["id"] if "id" in columns else [t.legacy_key]
        out[t.legacy] = read_table(conn, schema, t.legacy, columns, order)
    return out


def staging_from_postgres(conn: psycopg.Connection, *, schema: str = "public", tables: Iterable[str] | None = None) -> dict[str, pl.DataFrame]:
    """The Blaze staging tables as 01_setup created and the sync filled them, ordered by key."""
    cat = _catalog(conn, schema)
    out: dict[str, pl.DataFrame] = {}
    for t in _tables(tables):
        rel = cat.get(t.staging)
        if rel is None:
            raise DatabaseError(f"the staging table {schema}.{t.staging} does not exist", hint="run 01_setup with apply=true, then sync")
        out[t.legacy] = read_table(conn, schema, t.staging, rel.columns, [t.key])
    return out


class _Warehouse(Protocol):
    def staging_frame(self, table: Table | str) -> pl.DataFrame: ...


def staging_from_warehouse(warehouse: _Warehouse, *, tables: Iterable[str] | None = None) -> dict[str, pl.DataFrame]:
    """The staging tables from the sync's DuckDB warehouse (rows as Postgres staging holds them)."""
    return {t.legacy: warehouse.staging_frame(t) for t in _tables(tables)}


def from_folder(folder: Path | str, *, staging: bool = False, tables: Iterable[str] | None = None) -> dict[str, pl.LazyFrame]:
    """``<name>.parquet`` (else ``<name>.csv``) per table; ``name`` is the legacy table's, or the
    staging table's when ``staging``. Tables without a file are left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigurationError(f"{folder} is not a folder of exports")
    out: dict[str, pl.LazyFrame] = {}
    for t in _tables(tables):
        name = t.staging if staging else t.legacy
        parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.exists():
            out[t.legacy] = pl.scan_parquet(parquet)
        elif csv.exists():
            out[t.legacy] = pl.scan_csv(csv, infer_schema=False)
    if not out:
        raise ConfigurationError(f"no <table>.parquet or <table>.csv in {folder}", hint=f"expected names: {[t.staging if staging else t.legacy for t in TABLES]}")
    return out


def _tables(names: Iterable[str] | None) -> list[Table]:
    return list(TABLES) if names is None else [mapped_table(n) for n in names]


__all__ = ["existing_from_postgres", "from_folder", "read_table", "staging_from_postgres", "staging_from_warehouse"]
