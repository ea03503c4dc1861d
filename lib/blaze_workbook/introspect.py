"""What the existing database holds, compared with the shape the workbook expects.

:func:`inspect_database` reads tables, columns and types through the SQLAlchemy inspector and
row counts through psycopg, and compares them with ``data/legacy_schema.sql`` (missing and extra
columns, differing types) and with Phase 1 (new columns, staging tables and views already
there). It returns plain data: dataclasses and polars frames for the 01_setup report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import polars as pl
import psycopg
import sqlalchemy
from psycopg import sql
from psycopg.pq import TransactionStatus

from . import legacy as legacy_schema
from .errors import DatabaseError
from .mapping import TABLES
from .postgres import engine as default_engine
from .postgres import translate, translated
from .setup_sql import ADDED_COMMENT, view_names

_ALIASES = {
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with time zone": "timetz",
    "time without time zone": "time",
    "character varying": "varchar",
    "character": "char",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "bool": "boolean",
    "float8": "double precision",
    "float4": "real",
    "serial": "integer",
    "bigserial": "bigint",
}


def canonical_type(type_: str) -> str:
    """One spelling per type: ``TIMESTAMP WITH TIME ZONE`` -> ``timestamptz``, ``NUMERIC(12, 2)`` -> ``numeric(12,2)``."""
    text = re.sub(r"\s+", " ", type_.strip().lower())
    base, _, args = text.partition("(")
    base = _ALIASES.get(base.strip(), base.strip())
    return f"{base}({args.replace(' ', '')}" if args else base


def base_type(type_: str) -> str:
    """The type without its modifiers: ``numeric(12,2)`` -> ``numeric``."""
    return canonical_type(type_).split("(", 1)[0]


@dataclass(frozen=True)
class TableReport:
    """One expected table: what it has, what it lacks, what it has in addition."""

    name: str
    role: Literal["existing", "staging"]
    exists: bool
    rows: int | None
    columns: dict[str, str]  # actual column -> canonical type
    expected: dict[str, str]  # expected column -> canonical type
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()  # neither expected nor a Phase-1 column
    type_differences: tuple[tuple[str, str, str], ...] = ()  # (column, expected, actual)
    phase1_present: tuple[str, ...] = ()  # Phase-1 columns already there (existing tables)
    phase1_missing: tuple[str, ...] = ()
    added_by_workbook: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchemaReport:
    """The whole comparison for one schema."""

    schema: str
    tables: tuple[TableReport, ...]
    views: dict[str, bool]

    def table(self, name: str) -> TableReport:
        for report in self.tables:
            if report.name == name:
                return report
        raise KeyError(f"no report for {name!r}; tables: {[r.name for r in self.tables]}")

    @property
    def missing_tables(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.tables if r.role == "existing" and not r.exists)

    @property
    def missing_columns(self) -> dict[str, tuple[str, ...]]:
        return {r.name: r.missing for r in self.tables if r.role == "existing" and r.exists and r.missing}

    @property
    def phase1(self) -> Literal["not started", "partial", "complete"]:
        """Whether 01_setup has run here: judged from its columns, staging tables and views."""
        existing = [r for r in self.tables if r.role == "existing" and r.exists]
        staging = [r for r in self.tables if r.role == "staging"]
        done = (
            all(not r.phase1_missing for r in existing)
            and all(r.exists and not r.missing for r in staging)
            and all(self.views.values())
        )
        if done and existing:
            return "complete"
        started = any(r.exists for r in staging) or any(self.views.values()) or any(r.added_by_workbook for r in existing)
        return "partial" if started else "not started"

    def tables_frame(self) -> pl.DataFrame:
        """One row per expected table."""
        return pl.DataFrame(
            {
                "table": [r.name for r in self.tables],
                "role": [r.role for r in self.tables],
                "exists": [r.exists for r in self.tables],
                "rows": [r.rows for r in self.tables],
                "missing_columns": [", ".join(r.missing) for r in self.tables],
                "extra_columns": [", ".join(r.extra) for r in self.tables],
                "type_differences": [", ".join(f"{c} {e}->{a}" for c, e, a in r.type_differences) for r in self.tables],
                "phase1_columns_present": [len(r.phase1_present) for r in self.tables],
                "phase1_columns_missing": [len(r.phase1_missing) for r in self.tables],
            },
            schema_overrides={"rows": pl.Int64},
        )

    def columns_frame(self) -> pl.DataFrame:
        """One row per (table, column) expected or found, with its status."""
        rows: list[tuple[str, str, str | None, str | None, str]] = []
        for r in self.tables:
            phase1 = {*r.phase1_present, *r.phase1_missing}
            for name in dict.fromkeys([*r.expected, *r.columns, *r.phase1_missing]):
                expected, actual = r.expected.get(name), r.columns.get(name)
                if name in r.added_by_workbook:
                    status = "added by 01_setup"
                elif actual is None:
                    status = "missing" if expected is not None else "phase 1, not yet added"
                elif expected is None:
                    status = "phase 1" if name in phase1 else "extra"
                elif base_type(expected) != base_type(actual):
                    status = "type differs"
                else:
                    status = "ok"
                rows.append((r.name, name, expected, actual, status))
        return pl.DataFrame(rows, schema=["table", "column", "expected_type", "actual_type", "status"], orient="row")


@contextmanager
def _reading(conn: psycopg.Connection, what: str) -> Iterator[None]:
    """Read in the caller's transaction if there is one, else in a short one of our own."""
    with translated(what):
        if conn.info.transaction_status == TransactionStatus.IDLE:
            with conn.transaction():
                yield
        else:
            yield


def row_counts(conn: psycopg.Connection, tables: list[str], schema: str = "public") -> dict[str, int]:
    """Exact ``count(*)`` per table; a missing table is a clear :class:`DatabaseError`."""
    out: dict[str, int] = {}
    for name in tables:
        with _reading(conn, f"counting the rows of {schema}.{name}"):
            out[name] = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()[0]
    return out


def fingerprint(conn: psycopg.Connection, table: str, columns: list[str], order_by: list[str], schema: str = "public") -> str:
    """md5 of the named columns of every row, in key order: equal before and after means untouched."""
    n = sql.Identifier
    query = sql.SQL("SELECT md5(coalesce(string_agg(ROW({cols})::text, E'\\n' ORDER BY {order}), '')) FROM {table}").format(
        cols=sql.SQL(", ").join(n(c) for c in columns),
        order=sql.SQL(", ").join(n(c) for c in order_by),
        table=n(schema, table),
    )
    with _reading(conn, f"fingerprinting {schema}.{table}"):
        return conn.execute(query).fetchone()[0]


def inspect_database(
    engine: sqlalchemy.Engine | None = None,
    conn: psycopg.Connection | None = None,
    *,
    schema: str = "public",
    counts: bool = True,
) -> SchemaReport:
    """Compare ``schema`` with the expected legacy schema and with Phase 1."""
    engine = engine or default_engine()
    try:
        inspector = sqlalchemy.inspect(engine)
        if schema not in inspector.get_schema_names():
            raise DatabaseError(f"schema {schema!r} does not exist in this database", hint="fix the schema parameter or DATABASE_URL")
        tables = set(inspector.get_table_names(schema=schema))
        views = set(inspector.get_view_names(schema=schema))
        found = {name: inspector.get_columns(name, schema=schema) for name in _wanted() if name in tables}
    except sqlalchemy.exc.DBAPIError as exc:
        if isinstance(exc.orig, psycopg.Error):
            raise translate(exc.orig, f"inspecting schema {schema!r}") from exc.orig
        raise DatabaseError(f"inspecting schema {schema!r}: {exc}") from exc

    counted: dict[str, int] = {}
    if counts and found:
        if conn is not None:
            counted = row_counts(conn, sorted(found), schema)
        else:
            raw = engine.raw_connection()
            try:
                counted = row_counts(raw.driver_connection, sorted(found), schema)
            finally:
                raw.close()

    reports = [_report(t.legacy, "existing", found, counted, engine) for t in TABLES]
    reports += [_report(t.staging, "staging", found, counted, engine) for t in TABLES]
    return SchemaReport(schema, tuple(reports), {name: name in views for name in view_names()})


def _wanted() -> list[str]:
    return [t.legacy for t in TABLES] + [t.staging for t in TABLES]


def _report(name: str, role: Literal["existing", "staging"], found: dict, counted: dict[str, int], engine: sqlalchemy.Engine) -> TableReport:
    t = next(t for t in TABLES if name in (t.legacy, t.staging))
    if role == "existing":
        expected = legacy_schema.expected_tables().get(name, {})
        phase1 = [n.name for n in t.new_columns]
    else:
        expected = {c.name: c.pg_type for c in t.columns}
        phase1 = []
    if name not in found:
        return TableReport(name, role, False, None, {}, expected, missing=tuple(expected), phase1_missing=tuple(phase1))
    info = found[name]
    columns = {c["name"]: canonical_type(c["type"].compile(dialect=engine.dialect)) for c in info}
    added = tuple(c["name"] for c in info if c.get("comment") == ADDED_COMMENT)
    phase1_present = tuple(n for n in phase1 if n in columns and (n not in expected or n in added))
    return TableReport(
        name=name,
        role=role,
        exists=True,
        rows=counted.get(name),
        columns=columns,
        expected=expected,
        missing=tuple(c for c in expected if c not in columns),
        extra=tuple(c for c in columns if c not in expected and c not in phase1),
        type_differences=tuple(
            (c, expected[c], columns[c]) for c in expected if c in columns and base_type(expected[c]) != base_type(columns[c])
        ),
        phase1_present=phase1_present,
        phase1_missing=tuple(n for n in phase1 if n not in columns),
        added_by_workbook=added,
    )


__all__ = ["SchemaReport", "TableReport", "base_type", "canonical_type", "fingerprint", "inspect_database", "row_counts"]
