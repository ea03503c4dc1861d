"""Plan and apply Phase 1 (01_setup) against a live database, in one transaction.

:func:`plan` reads the catalog and returns every step with its status (``create``, ``replace``
or ``present``) and the whole idempotent script for review; it changes nothing. :func:`apply`
runs the steps that are not present in ONE transaction under ``SET LOCAL lock_timeout``, so a
table another session holds locked makes it fail with :class:`~blaze_workbook.errors.LockedError`
and change nothing. A second apply reports "no change" and alters nothing: on the existing tables
it takes no lock stronger than the ``ACCESS SHARE`` of a read (to compare view definitions).

A missing mapped table, or a missing key column, is an error (the connection probably points at
the wrong database); a missing optional column is reported and left out of its comparison view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl
import psycopg
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg.pq import TransactionStatus

from . import setup_sql
from .errors import ConfigurationError, DatabaseError
from .mapping import METRICS_VIEW, TABLES
from .postgres import translate, translated
from .setup_sql import ADDED_COMMENT, MetricsRules

Status = Literal["create", "replace", "present"]
_TABLE_KINDS = frozenset({"r", "p"})


@dataclass(frozen=True)
class Relation:
    """A table or view as the catalog describes it."""

    kind: str  # pg_class.relkind: r, p (tables), v, m (views), f
    columns: dict[str, str]  # name -> format_type
    comments: dict[str, str]  # name -> column comment, where there is one

    def added_by_workbook(self) -> set[str]:
        return {name for name, text in self.comments.items() if text == ADDED_COMMENT}


def catalog(conn: psycopg.Connection, schema: str) -> dict[str, Relation]:
    """Tables and views of ``schema`` with their columns, read in the caller's transaction."""
    if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
        raise DatabaseError(f"schema {schema!r} does not exist in this database", hint="fix the schema parameter or DATABASE_URL")
    rows = conn.execute(
        """
        SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum)
        FROM pg_class c
        JOIN pg_namespace s ON s.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE s.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        ORDER BY c.relname, a.attnum
        """,
        (schema,),
    ).fetchall()
    out: dict[str, Relation] = {}
    for name, kind, column, type_, comment in rows:
        rel = out.setdefault(name, Relation(kind, {}, {}))
        if column is not None:
            rel.columns[column] = type_
            if comment is not None:
                rel.comments[column] = comment
    return out


@dataclass(frozen=True)
class Step:
    """One object of Phase 1 and the statements that make it exist."""

    kind: Literal["column", "table", "view"]
    name: str
    status: Status
    statements: tuple[sql.Composable, ...]

    def sql(self) -> str:
        return "".join(f"{s.as_string()};\n" for s in self.statements)


@dataclass(frozen=True)
class SetupPlan:
    """Every Phase-1 step for one database, and what its comparison views leave out."""

    schema: str
    rules: MetricsRules
    lock_timeout: str
    steps: tuple[Step, ...]
    #: legacy table -> compared columns it lacks (left out of its comparison view)
    missing_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: legacy table -> compared columns 01_setup added (empty by construction, not compared)
    not_compared: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def changes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.status != "present")

    def frame(self) -> pl.DataFrame:
        """One row per step: kind, name, status."""
        return pl.DataFrame(
            {"kind": [s.kind for s in self.steps], "name": [s.name for s in self.steps], "status": [s.status for s in self.steps]}
        )

    def script(self) -> str:
        """The whole script, idempotent, annotated with each step's status, for review."""
        head = [
            "-- Blaze Migration Workbook, Phase 1 (01_setup): generated from blaze_workbook.mapping.",
            f"-- schema {self.schema!r}; {self.rules.describe()}.",  # repr: a newline in the name cannot end the comment
            "-- Idempotent: IF NOT EXISTS / CREATE OR REPLACE throughout. New columns are nullable and have no",
            "-- default, so no existing row is rewritten. Nothing is dropped, renamed or updated.",
        ]
        for table, cols in self.missing_columns.items():
            head.append(f"-- {table} lacks {', '.join(cols)}: left out of {table}_comparison.")
        for table, cols in self.not_compared.items():
            head.append(f"-- {table}.{', '.join(cols)} added by 01_setup: empty on the existing side, not compared.")
        body = ["BEGIN;", sql.SQL("SET LOCAL lock_timeout = {};").format(sql.Literal(self.lock_timeout)).as_string(), ""]
        for step in self.steps:
            body.append(f"-- {step.kind} {step.name}: {_STATUS_TEXT[step.status]}")
            body.append(step.sql())
        body.append("COMMIT;")
        return "\n".join(head + [""] + body) + "\n"


_STATUS_TEXT = {"create": "will be created", "replace": "definition differs: will be replaced", "present": "already present"}


@dataclass(frozen=True)
class SetupResult:
    """What :func:`apply` did."""

    plan: SetupPlan

    def _names(self, status: Status) -> tuple[str, ...]:
        return tuple(s.name for s in self.plan.steps if s.status == status)

    @property
    def created(self) -> tuple[str, ...]:
        return self._names("create")

    @property
    def replaced(self) -> tuple[str, ...]:
        return self._names("replace")

    @property
    def present(self) -> tuple[str, ...]:
        return self._names("present")

    @property
    def changed(self) -> bool:
        return bool(self.plan.changes)

    def summary(self) -> str:
        if not self.changed:
            text = f"no change: all {len(self.present)} Phase-1 objects were already present"
        else:
            text = f"created {len(self.created)}, replaced {len(self.replaced)}, already present {len(self.present)}"
        for table, cols in self.plan.missing_columns.items():
            text += f"; {table} lacks {', '.join(cols)} (left out of {table}_comparison)"
        return text


def _structure_steps(cat: dict[str, Relation], schema: str) -> list[Step]:
    """New columns on the existing tables, then the staging tables."""
    steps: list[Step] = []
    for t in TABLES:
        legacy = cat.get(t.legacy)
        if legacy is None or legacy.kind not in _TABLE_KINDS:
            raise DatabaseError(
                f"the existing table {schema}.{t.legacy} was not found",
                hint="check that DATABASE_URL points at the existing database and that the schema parameter is right",
            )
        required = sorted({t.legacy_key, *setup_sql.match_key(t)} - set(legacy.columns))
        if required:
            raise DatabaseError(
                f"{schema}.{t.legacy} lacks its key column(s) {', '.join(required)}; rows cannot be matched to Blaze",
                hint="check that this is the report-derived database the workbook expects",
            )
        for new in t.new_columns:
            present = new.name in legacy.columns
            steps.append(
                Step("column", f"{t.legacy}.{new.name}", "present" if present else "create",
                     tuple(setup_sql.add_column(schema, t.legacy, new, comment=not present)))
            )
    for t in TABLES:
        staging = cat.get(t.staging)
        if staging is not None and staging.kind not in _TABLE_KINDS:
            raise DatabaseError(f"{schema}.{t.staging} exists but is not a table", hint="rename or drop that object, then run again")
        steps.append(Step("table", t.staging, "present" if staging else "create", (setup_sql.create_staging(schema, t),)))
        for col in t.columns if staging else ():
            if col.name not in staging.columns:  # the mapping gained a column since the table was made
                steps.append(Step("column", f"{t.staging}.{col.name}", "create", tuple(setup_sql.add_column(schema, t.staging, col, comment=False))))
    return steps


def _view_steps(conn: psycopg.Connection, cat: dict[str, Relation], schema: str, rules: MetricsRules) -> tuple[list[Step], dict, dict]:
    """The metrics view and the comparison views, each compared with what exists."""
    steps = [_view_step(conn, cat, schema, METRICS_VIEW, setup_sql.metrics_select(schema, rules))]
    missing: dict[str, tuple[str, ...]] = {}
    not_compared: dict[str, tuple[str, ...]] = {}
    for t in TABLES:
        legacy = cat[t.legacy]
        added = legacy.added_by_workbook() | {n.name for n in t.new_columns if n.name not in legacy.columns}
        existing = set(legacy.columns) | {n.name for n in t.new_columns}
        cols = setup_sql.comparison_columns(t, existing, added)
        if cols.missing:
            missing[t.legacy] = cols.missing
        if cols.not_compared:
            not_compared[t.legacy] = cols.not_compared
        steps.append(_view_step(conn, cat, schema, setup_sql.comparison_view(t), setup_sql.comparison_select(schema, t, cols)))
    return steps, missing, not_compared


def _view_step(conn: psycopg.Connection, cat: dict[str, Relation], schema: str, name: str, select: sql.Composable) -> Step:
    statement = setup_sql.create_view(schema, name, select)
    existing = cat.get(name)
    if existing is None:
        return Step("view", name, "create", (statement,))
    if existing.kind != "v":
        raise DatabaseError(f"{schema}.{name} exists but is not a view", hint="rename or drop that object, then run again")
    return Step("view", name, "present" if _same_view(conn, schema, name, select) else "replace", (statement,))


def _same_view(conn: psycopg.Connection, schema: str, name: str, select: sql.Composable) -> bool:
    """Whether view ``name`` already has this definition: a temporary twin is compared, then undone."""
    same = False
    try:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE TEMPORARY VIEW bw_probe AS\n{}").format(select))
            same = bool(
                conn.execute(
                    """
                    SELECT pg_get_viewdef(v.oid) = pg_get_viewdef(p.oid)
                    FROM pg_class v JOIN pg_namespace s ON s.oid = v.relnamespace, pg_class p
                    WHERE s.nspname = %s AND v.relname = %s AND p.relname = 'bw_probe' AND p.relnamespace = pg_my_temp_schema()
                    """,
                    (schema, name),
                ).fetchone()[0]
            )
            raise psycopg.Rollback()
    except (pgerrors.LockNotAvailable, pgerrors.DeadlockDetected):
        raise
    except psycopg.Error:  # e.g. a staging column the definition needs is not there yet
        return False
    return same


def _begin(conn: psycopg.Connection, lock_timeout: str) -> None:
    conn.execute("SELECT set_config('lock_timeout', %s, true)", (str(lock_timeout),))


def _require_idle(conn: psycopg.Connection) -> None:
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ConfigurationError(
            "01_setup needs a connection with no transaction in progress",
            hint="commit or roll back first, or pass a fresh connection",
        )


def plan(conn: psycopg.Connection, *, schema: str = "public", rules: MetricsRules | None = None, lock_timeout: str = "5s") -> SetupPlan:
    """What :func:`apply` would do, without changing anything."""
    rules = rules or MetricsRules()
    _require_idle(conn)
    with translated("planning 01_setup"), conn.transaction(force_rollback=True):
        _begin(conn, lock_timeout)
        cat = catalog(conn, schema)
        structure = _structure_steps(cat, schema)
        views, missing, not_compared = _view_steps(conn, cat, schema, rules)
    return SetupPlan(schema, rules, str(lock_timeout), tuple(structure + views), missing, not_compared)


def apply(conn: psycopg.Connection, *, schema: str = "public", rules: MetricsRules | None = None, lock_timeout: str = "5s") -> SetupResult:
    """Create what is missing, in one transaction; a second run changes nothing and says so."""
    rules = rules or MetricsRules()
    _require_idle(conn)
    with translated("applying 01_setup"), conn.transaction():
        _begin(conn, lock_timeout)
        cat = catalog(conn, schema)
        structure = _structure_steps(cat, schema)
        for step in structure:
            _run(conn, schema, step)
        views, missing, not_compared = _view_steps(conn, cat, schema, rules)
        for step in views:
            _run(conn, schema, step)
    return SetupResult(SetupPlan(schema, rules, str(lock_timeout), tuple(structure + views), missing, not_compared))


def _run(conn: psycopg.Connection, schema: str, step: Step) -> None:
    if step.status == "present":
        return
    try:
        with conn.transaction():
            for statement in step.statements:
                conn.execute(statement)
    except psycopg.Error as exc:
        if step.kind != "view" or step.status != "replace" or isinstance(exc, (pgerrors.LockNotAvailable, pgerrors.DeadlockDetected)):
            raise translate(exc, f"{step.kind} {step.name}") from exc
        _recreate_view(conn, schema, step)


def _recreate_view(conn: psycopg.Connection, schema: str, step: Step) -> None:
    """A view whose columns changed cannot be replaced in place: drop it (not its dependents) and create it."""
    (statement,) = step.statements
    with translated(f"re-creating view {step.name} (its column list changed; a view depending on it blocks this)"):
        with conn.transaction():
            conn.execute(sql.SQL("DROP VIEW {}").format(sql.Identifier(schema, step.name)))
            conn.execute(statement)


__all__ = ["Relation", "SetupPlan", "SetupResult", "Step", "apply", "catalog", "plan"]
