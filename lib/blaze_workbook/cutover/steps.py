"""The five cutover steps as data, resolved against a live catalog into concrete actions.

The steps follow the plan's Phase 3 (``seed/migration_strategy.md``), lowest risk first:

1. ``safe_fields`` — contact and identity fields replaced from staging;
2. ``new_columns`` — the columns 01_setup added, filled from staging (``Table.new_columns``);
3. ``calculated`` — the stored aggregates replaced from ``customers_blaze_metrics``, each
   after its value is kept in a ``<column>_old`` backup column;
4. ``derived`` — ``days_since_last_visit``, ``vip_status``, ``churn_risk`` (with ``_old`` too);
5. ``history`` — option C: existing transactions, items and products are kept; fields that
   differ from Blaze are corrected; records only Blaze has are inserted.

Every column comes from :mod:`blaze_workbook.mapping`; this module only says which mapped
columns each step writes. No ``(table, column)`` is written by two steps, so a run's backup
holds at most one row per cell. Fields the plan does not replace (loyalty points, customer
type, member group, date joined; names of shops, staff, brands and categories, kept by the
plan's option C decisions 1 and 2) are listed by :data:`LEFT_AS_IS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

import psycopg
from psycopg import sql

from ..errors import ConfigurationError, DatabaseError
from ..mapping import CUSTOMERS, DERIVED_FIELDS, METRICS_VIEW, PRODUCTS, TABLES, TRANSACTION_ITEMS, TRANSACTIONS, Table
from ..setup_sql import MetricsRules, match_key


@dataclass(frozen=True)
class StepSpec:
    """One step of the cutover: its number, name and what it is for."""

    number: int
    name: str
    title: str

    @property
    def id(self) -> str:
        return f"{self.number}_{self.name}"


STEPS: tuple[StepSpec, ...] = (
    StepSpec(1, "safe_fields", "safe fields: contact and identity replaced from Blaze"),
    StepSpec(2, "new_columns", "new columns filled from staging"),
    StepSpec(3, "calculated", "calculated fields replaced from customers_blaze_metrics, old values kept in _old columns"),
    StepSpec(4, "derived", "derived fields (days since last visit, VIP tier, churn risk), old values kept in _old columns"),
    StepSpec(5, "history", "history (option C): corrections of existing records, records only in Blaze inserted"),
)

#: step 1: fields the plan calls 100 % replaceable (legacy column names)
SAFE_FIELDS: dict[str, tuple[str, ...]] = {
    CUSTOMERS.legacy: ("phone", "email", "name", "street_address", "city", "state", "zip_code"),
    PRODUCTS.legacy: ("sku", "name"),
}
#: step 4: the derived fields that depend on the date or the tiers; step 3 takes the others
DERIVED_STEP_FIELDS: tuple[str, ...] = ("days_since_last_visit", "vip_status", "churn_risk")
CALCULATED_FIELDS: tuple[str, ...] = tuple(f for f in DERIVED_FIELDS if f not in DERIVED_STEP_FIELDS)
#: option C of the plan's decisions 1 and 2: report names are kept, never replaced
KEEP_EXISTING: dict[str, tuple[str, ...]] = {
    TRANSACTIONS.legacy: ("shop_location", "staff_name"),
    TRANSACTION_ITEMS.legacy: ("brand", "category"),
    PRODUCTS.legacy: ("brand", "category"),
}
#: compared customer fields no step writes, and why (listed in cutover_plan.json)
LEFT_AS_IS: dict[str, str] = {
    "customers.loyalty_points": "decision 3 (loyalty points) is open in the plan",
    "customers.customer_type": "not in the plan's cutover steps",
    "customers.member_group": "not in the plan's cutover steps",
    "customers.date_joined": "not in the plan's cutover steps",
    **{f"{t}.{c}": "kept by the plan's option C (names from the reports)" for t, cols in KEEP_EXISTING.items() for c in cols},
}
#: suffix of the backup columns of steps 3 and 4
OLD_SUFFIX = "_old"
#: Postgres spells some types two ways; the mapping uses the short spelling
_TYPE_ALIASES = {"timestamp with time zone": "timestamptz", "character varying": "text", "int4": "integer", "bool": "boolean"}
_SAFE_TYPE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ,()\[\]\"]*$")

Source = Literal["staging", "items", "metrics"]


def step_by(ref: int | str) -> StepSpec:
    """A step by number, name or id; an unknown one lists the valid ones."""
    for s in STEPS:
        if ref in (s.number, s.name, s.id, str(s.number)):
            return s
    raise ConfigurationError(f"unknown cutover step {ref!r}; valid: {', '.join(s.id for s in STEPS)}")


def select_steps(steps: list[int | str] | tuple[int | str, ...] | None) -> tuple[StepSpec, ...]:
    """The chosen steps, always in the plan's order (a step cannot run before an earlier one)."""
    if steps is None:
        return STEPS
    chosen = {step_by(s).number for s in steps}
    if not chosen:
        raise ConfigurationError("no cutover step chosen", hint=f"choose among {', '.join(s.id for s in STEPS)}, or leave steps unset for all")
    return tuple(s for s in STEPS if s.number in chosen)


# ---------------------------------------------------------------------------------------------
# the catalog


@dataclass(frozen=True)
class TableInfo:
    """A table's columns as the catalog has them: name -> type, in column order."""

    name: str
    columns: dict[str, str]
    required: frozenset[str]  # NOT NULL without a default

    def type_of(self, column: str) -> str:
        return self.columns[column]


def read_catalog(conn: psycopg.Connection, schema: str) -> dict[str, TableInfo]:
    """The legacy and staging tables of ``schema``; a missing one is a clear error."""
    names = [t.legacy for t in TABLES] + [t.staging for t in TABLES] + [METRICS_VIEW]
    rows = conn.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull AND NOT a.atthasdef
        FROM pg_class c
        JOIN pg_namespace s ON s.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE s.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm')
        ORDER BY c.relname, a.attnum
        """,
        (schema, names),
    ).fetchall()
    columns: dict[str, dict[str, str]] = {}
    required: dict[str, set[str]] = {}
    for rel, col, type_, req in rows:
        columns.setdefault(rel, {})[col] = _checked_type(type_)
        if req:
            required.setdefault(rel, set()).add(col)
    missing = [n for n in names if n not in columns]
    if missing:
        legacy_missing = [n for n in missing if n in {t.legacy for t in TABLES}]
        raise DatabaseError(
            f"schema {schema!r} lacks {', '.join(missing)}",
            hint="point DATABASE_URL at the existing database"
            if legacy_missing
            else "run 01_setup with apply=true first (it creates the staging tables and customers_blaze_metrics)",
        )
    return {n: TableInfo(n, columns[n], frozenset(required.get(n, ()))) for n in names}


def _checked_type(type_: str) -> str:
    """A type name from the catalog, refused if it could carry anything but a type."""
    if not _SAFE_TYPE.match(type_):
        raise DatabaseError(f"unexpected column type {type_!r} in the catalog", hint="report this; the cutover composes column types into SQL")
    return type_


def short_type(type_: str) -> str:
    return _TYPE_ALIASES.get(type_, type_)


# ---------------------------------------------------------------------------------------------
# actions


@dataclass(frozen=True)
class Write:
    """One column an update writes.

    ``value`` is the new value over the source alias ``s`` (``None`` for an ``_old`` fill,
    which copies ``backs_up``); ``value_type`` its type; ``type`` the written column's type.
    """

    column: str
    type: str
    value: sql.Composable | None
    value_type: str
    backs_up: str | None = None
    #: the compare field that annotates this column (``table.field``), if any
    compare_field: str | None = None


@dataclass(frozen=True)
class Update:
    """Set-based replacement of some columns of ``table`` from ``source``."""

    table: Table
    source: Source
    writes: tuple[Write, ...]

    @property
    def kind(self) -> str:
        return "update"


@dataclass(frozen=True)
class Insert:
    """Insertion of the records only Blaze has (option C)."""

    table: Table
    columns: tuple[tuple[str, sql.Composable], ...]  # legacy column -> value over s (staging) and m (metrics)
    required: tuple[str, ...]  # legacy columns that must not be NULL

    @property
    def kind(self) -> str:
        return "insert"


Action = Update | Insert


@dataclass(frozen=True)
class Section:
    """What one step does to one table: its actions and the ``_old`` columns it adds."""

    step: StepSpec
    table: Table
    actions: tuple[Action, ...]
    add_columns: tuple[tuple[str, str], ...] = ()  # (_old column, type) missing at plan time
    missing: tuple[str, ...] = ()  # mapped columns the table lacks (left out)
    #: (existing, staging) types of the match key's columns, for a table paired by it (items)
    match_types: tuple[tuple[str, str], ...] = ()

    @property
    def written(self) -> tuple[Write, ...]:
        return tuple(w for a in self.actions if isinstance(a, Update) for w in a.writes)

    @property
    def inserts(self) -> bool:
        return any(isinstance(a, Insert) for a in self.actions)


@dataclass(frozen=True)
class Context:
    """What the resolution needs besides the catalog."""

    schema: str
    as_of: date
    rules: MetricsRules
    catalog: dict[str, TableInfo] = field(default_factory=dict)


def _s(column: str, alias: str = "s") -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(column))


def derived_value(name: str, ctx: Context, alias: str) -> sql.Composable:
    """A derived field over the metrics row ``alias``; the date-dependent ones use ``as_of``.

    The view computes ``days_since_last_visit`` and ``churn_risk`` for *today*; the cutover
    fixes the day (the plan's ``as_of``) so that what was counted is what is applied.
    """
    as_of = sql.Literal(ctx.as_of)
    last = _s("last_visited", alias)
    if name == "days_since_last_visit":
        return sql.SQL("({} - {})").format(as_of, last)
    if name == "churn_risk":
        return sql.SQL(
            "CASE WHEN {last} IS NULL THEN NULL WHEN {as_of} - {last} > {high} THEN 'High'"
            " WHEN {as_of} - {last} >= {medium} THEN 'Medium' ELSE 'Low' END"
        ).format(last=last, as_of=as_of, high=sql.Literal(ctx.rules.churn_high), medium=sql.Literal(ctx.rules.churn_medium))
    return _s(name, alias)


def _staging_write(t: Table, info: TableInfo, staging_column: str, legacy_column: str) -> Write:
    return Write(
        column=legacy_column,
        type=info.type_of(legacy_column),
        value=_s(staging_column),
        value_type=t.column(staging_column).pg_type,
        compare_field=f"{t.legacy}.{staging_column}" if t.column(staging_column).legacy == legacy_column else None,
    )


def _present(info: TableInfo, wanted: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    have = [(s, c) for s, c in wanted if c in info.columns]
    return have, [c for s, c in wanted if c not in info.columns]


def _safe_fields(ctx: Context, t: Table) -> Section | None:
    legacy_of = {c.legacy: c.name for c in t.compared}
    wanted = [(legacy_of[c], c) for c in SAFE_FIELDS.get(t.legacy, ())]
    if not wanted:
        return None
    info = ctx.catalog[t.legacy]
    have, missing = _present(info, wanted)
    writes = tuple(_staging_write(t, info, s, c) for s, c in have)
    return Section(STEPS[0], t, (Update(t, _source(t), writes),) if writes else (), missing=tuple(missing))


def _source(t: Table) -> Source:
    return "items" if t is TRANSACTION_ITEMS else "staging"


def _new_columns(ctx: Context, t: Table) -> Section:
    info = ctx.catalog[t.legacy]
    missing = [n.name for n in t.new_columns if n.name not in info.columns]
    if missing:
        raise DatabaseError(
            f"{ctx.schema}.{t.legacy} lacks the Phase-1 column(s) {', '.join(missing)}",
            hint="run 01_setup with apply=true first",
        )
    writes = tuple(_staging_write(t, info, n.staging, n.name) for n in t.new_columns)
    return Section(STEPS[1], t, (Update(t, _source(t), writes),))


def _with_old(ctx: Context, step: StepSpec, fields: tuple[str, ...]) -> Section:
    """Replace ``fields`` of customers from the metrics, keeping each old value in ``<f>_old``."""
    t = CUSTOMERS
    info = ctx.catalog[t.legacy]
    present = [f for f in fields if f in info.columns]
    writes: list[Write] = []
    add: list[tuple[str, str]] = []
    for f in present:
        old = f + OLD_SUFFIX
        if old not in info.columns:  # filled once, by the run that creates it
            add.append((old, info.type_of(f)))
            writes.append(Write(old, info.type_of(f), None, info.type_of(f), backs_up=f))
        writes.append(Write(f, info.type_of(f), derived_value(f, ctx, "s"), DERIVED_FIELDS[f], compare_field=f"{t.legacy}.{f}"))
    actions = (Update(t, "metrics", tuple(writes)),) if writes else ()
    return Section(step, t, actions, add_columns=tuple(add), missing=tuple(f for f in fields if f not in info.columns))


def _history(ctx: Context, t: Table, earlier: set[tuple[str, str]]) -> Section:
    """Corrections of ``t``'s compared fields (not written by an earlier step) and insertions."""
    info = ctx.catalog[t.legacy]
    actions: list[Action] = []
    missing: list[str] = []
    if t is not CUSTOMERS:  # customers' fields belong to steps 1-4; the rest is left as is
        skip = set(match_key(t)) | set(KEEP_EXISTING.get(t.legacy, ()))
        wanted = [(c.name, c.legacy or c.name) for c in t.compared if c.name not in skip and (t.legacy, c.legacy) not in earlier]
        have, missing = _present(info, wanted)
        if have:
            actions.append(Update(t, _source(t), tuple(_staging_write(t, info, s, c) for s, c in have)))
    actions.append(_insert(ctx, t, info))
    return Section(STEPS[4], t, tuple(actions), missing=tuple(missing))


def _insert(ctx: Context, t: Table, info: TableInfo) -> Insert:
    """The columns a new record gets: mapped staging columns, new columns, and for customers the metrics."""
    cols: dict[str, sql.Composable] = {}
    for c in t.columns:  # the key too (items have no Blaze id on the existing side)
        if c.legacy and c.legacy in info.columns:
            cols[c.legacy] = _s(c.name)
    for n in t.new_columns:
        if n.name in info.columns:
            cols[n.name] = _s(n.staging)
    if t is CUSTOMERS:
        for f in DERIVED_FIELDS:
            if f in info.columns:
                cols[f] = derived_value(f, ctx, "m")
    required = tuple(c for c in info.required if c in cols)
    return Insert(t, tuple(cols.items()), required)


def resolve(ctx: Context, steps: tuple[StepSpec, ...]) -> tuple[Section, ...]:
    """The sections of the chosen steps, in the order the cutover runs them."""
    chosen = {s.number for s in steps}
    out: list[Section] = []
    if 1 in chosen:
        out += [s for s in (_safe_fields(ctx, t) for t in TABLES) if s is not None]
    if 2 in chosen:
        out += [_new_columns(ctx, t) for t in TABLES]
    if 3 in chosen:
        out.append(_with_old(ctx, STEPS[2], CALCULATED_FIELDS))
    if 4 in chosen:
        out.append(_with_old(ctx, STEPS[3], DERIVED_STEP_FIELDS))
    if 5 in chosen:
        # every column steps 1-4 may write, chosen or not: a column belongs to one step only
        earlier = {(t, c) for t, cols in SAFE_FIELDS.items() for c in cols}
        earlier |= {(t.legacy, n.name) for t in TABLES for n in t.new_columns}
        earlier |= {(CUSTOMERS.legacy, f) for f in DERIVED_FIELDS}
        for t in (PRODUCTS, CUSTOMERS, TRANSACTIONS, TRANSACTION_ITEMS):  # parents before children
            out.append(_history(ctx, t, earlier))
    return tuple(replace(s, match_types=match_types(ctx, s.table)) for s in out if s.actions)


def match_types(ctx: Context, t: Table) -> tuple[tuple[str, str], ...]:
    """The types of the columns items are paired on (:func:`sqlgen.item_pairs` sorts text ones in byte order)."""
    if t is not TRANSACTION_ITEMS:
        return ()
    legacy, staging = ctx.catalog[t.legacy], ctx.catalog[t.staging]
    return tuple((legacy.type_of(t.column(k).legacy or k), staging.type_of(k)) for k in match_key(t))


__all__ = [
    "CALCULATED_FIELDS",
    "DERIVED_STEP_FIELDS",
    "KEEP_EXISTING",
    "LEFT_AS_IS",
    "OLD_SUFFIX",
    "SAFE_FIELDS",
    "STEPS",
    "Action",
    "Context",
    "Insert",
    "Section",
    "StepSpec",
    "TableInfo",
    "Update",
    "Write",
    "derived_value",
    "read_catalog",
    "resolve",
    "select_steps",
    "short_type",
    "step_by",
]
