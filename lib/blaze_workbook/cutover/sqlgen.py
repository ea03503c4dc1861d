"""The cutover's SQL, composed from the resolved steps (:mod:`.steps`) with :mod:`psycopg.sql`.

Every statement is set-based and touches only rows whose value really changes:

- an update is ONE statement per key range: ``WITH changed AS (UPDATE t … FROM t AS o …
  RETURNING old and new values) INSERT INTO cutover_backup_rows …``. The self-join ``o`` (or
  ``RETURNING old.…``) reads the row as it was, so every replaced value is backed up in the same
  statement that replaces it: no change without its backup, whatever happens. A backup row holds
  a changed row's values of the step's columns before and after, as two arrays (one row per
  changed row, not per value: a seventh of the rows to write for step 2's transactions); the
  view ``cutover_backup`` lists them one replaced value per row, which is what rollback,
  verify and reports read;
- a column is written only when the new value is present (not NULL, not ``''`` for text),
  fits the column's type exactly (a cast that would round or truncate skips the value) and
  ``IS DISTINCT FROM`` what is there: NULL never lands on a value, and a second run finds
  nothing to do;
- an insertion records each new row's key and an md5 of what it wrote in ``cutover_inserted``,
  so a rollback can tell a row nobody touched from one another application changed since.

Identifiers and literals are composed, never formatted into text. Values travel as text
(``::text``) under ``DateStyle ISO`` and ``TimeZone UTC``, which both the cutover and the
rollback set, so a value read back is the value written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

from ..mapping import CUSTOMERS, METRICS_VIEW, TRANSACTION_ITEMS, TRANSACTIONS, Table
from ..setup_sql import match_key
from .steps import Insert, Section, Update, Write, short_type

RUNS = "cutover_runs"
LOG = "cutover_log"
BACKUP = "cutover_backup"  # a view: one row per replaced value
BACKUP_ROWS = "cutover_backup_rows"  # one row per changed row and step: its values before and after
BACKUP_COLUMNS = "cutover_backup_columns"  # the columns of each step's value arrays
BACKUP_COMMENT = "blaze-workbook 04_cutover: every value a cutover run replaced, one row per value (from cutover_backup_rows)"
INSERTED = "cutover_inserted"
ADDED = "cutover_added_columns"
CONFLICTS = "cutover_conflicts"
SIDE_TABLES = (RUNS, LOG, BACKUP_COLUMNS, BACKUP_ROWS, INSERTED, ADDED, CONFLICTS)
PAIRS = "cutover_item_pairs"
METRICS = "cutover_metrics"
OLD_COMMENT = "backup kept by blaze-workbook 04_cutover: the value before the first cutover; finalize.sql drops it"

n = sql.Identifier


@dataclass(frozen=True)
class Range:
    """A half-open key range ``[lo, hi)``; ``None`` is unbounded. The ranges of a plan cover every key."""

    lo: Any = None
    hi: Any = None

    def condition(self, column: sql.Composable) -> sql.Composable | None:
        parts = []
        if self.lo is not None:
            parts.append(sql.SQL("{} >= {}").format(column, sql.Literal(self.lo)))
        if self.hi is not None:
            parts.append(sql.SQL("{} < {}").format(column, sql.Literal(self.hi)))
        return sql.SQL(" AND ").join(parts) if parts else None

    def describe(self) -> str:
        if self.lo is None and self.hi is None:
            return "all keys"
        if self.lo is None:
            return f"keys below {self.hi!r}"
        if self.hi is None:
            return f"keys from {self.lo!r}"
        return f"keys from {self.lo!r} below {self.hi!r}"


def ranges(boundaries: list[Any]) -> tuple[Range, ...]:
    """Consecutive ranges split at ``boundaries`` (sorted), open at both ends."""
    edges = [None, *boundaries, None]
    return tuple(Range(lo, hi) for lo, hi in zip(edges, edges[1:]))


def settings(lock_timeout: str, statement_timeout: str) -> list[sql.Composed]:
    """Short locks, bounded statements, and a text form of values that reads back exactly."""
    out = []
    for name, value in (
        ("lock_timeout", lock_timeout),
        ("statement_timeout", statement_timeout),
        ("DateStyle", "ISO, YMD"),
        ("IntervalStyle", "postgres"),
        ("TimeZone", "UTC"),
        ("work_mem", "64MB"),  # the RETURNING sets and hashes of a batch stay in memory
    ):
        out.append(sql.SQL("SET LOCAL {} = {}").format(sql.SQL(name), sql.Literal(value)))
    return out


def side_tables(schema: str) -> list[sql.Composed]:
    """The cutover's own tables: created once, kept as the audit trail, never dropped by rollback."""
    t = {name: sql.Identifier(schema, name) for name in SIDE_TABLES}
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n"
            "    run_id text PRIMARY KEY,\n"
            "    status text NOT NULL,  -- applied | rolled_back | finalized\n"
            "    steps text[] NOT NULL,\n"
            "    planned_at timestamptz,\n"
            "    applied_at timestamptz,\n"
            "    rolled_back_at timestamptz,\n"
            "    compare_run text,\n"
            "    gate_passed boolean,\n"
            "    forced boolean,\n"
            "    run_dir text,\n"
            "    rollback_sql text,\n"
            "    conflicts integer\n"
            ")"
        ).format(t[RUNS]),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n"
            "    run_id text NOT NULL,\n"
            "    step text NOT NULL,\n"
            "    table_name text NOT NULL,\n"
            "    rows_changed bigint,\n"
            "    cells_changed bigint,\n"
            "    rows_inserted bigint,\n"
            "    checksum_before text,  -- rows:sum of 64-bit hashes of every row's text (digest)\n"
            "    checksum_after text,\n"
            "    started_at timestamptz,\n"
            "    finished_at timestamptz,\n"
            "    PRIMARY KEY (run_id, step, table_name)\n"
            ")"
        ).format(t[LOG]),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n"
            "    run_id text NOT NULL,\n"
            "    step text NOT NULL,\n"
            "    table_name text NOT NULL,\n"
            "    column_names text[] NOT NULL,  -- the columns a step writes, in the order of each row's values\n"
            "    value_types text[] NOT NULL,\n"
            "    PRIMARY KEY (run_id, step, table_name)\n"
            ")"
        ).format(t[BACKUP_COLUMNS]),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n"
            "    run_id text NOT NULL,\n"
            "    step text NOT NULL,\n"
            "    table_name text NOT NULL,\n"
            "    key text NOT NULL,\n"
            "    old_values text[] NOT NULL,  -- the row's values before, as text (DateStyle ISO, TimeZone UTC)\n"
            "    new_values text[] NOT NULL   -- the values the cutover left (equal to the old one where it wrote nothing)\n"
            ")"
        ).format(t[BACKUP_ROWS]),
        sql.SQL(
            "CREATE OR REPLACE VIEW {view} AS\n"
            "SELECT r.run_id, r.step, r.table_name, r.key, v.column_name, v.value_type, v.old_value, v.new_value\n"
            "FROM {rows} AS r\n"
            "JOIN {columns} AS c USING (run_id, step, table_name)\n"
            "CROSS JOIN LATERAL unnest(c.column_names, c.value_types, r.old_values, r.new_values) AS v (column_name, value_type, old_value, new_value)\n"
            "WHERE v.old_value IS DISTINCT FROM v.new_value"
        ).format(view=sql.Identifier(schema, BACKUP), rows=t[BACKUP_ROWS], columns=t[BACKUP_COLUMNS]),
        sql.SQL("COMMENT ON VIEW {} IS {}").format(sql.Identifier(schema, BACKUP), sql.Literal(BACKUP_COMMENT)),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n"
            "    run_id text NOT NULL,\n"
            "    step text NOT NULL,\n"
            "    table_name text NOT NULL,\n"
            "    key text NOT NULL,\n"
            "    row_md5 text NOT NULL  -- md5 of the inserted columns, to detect later changes\n"
            ")"
        ).format(t[INSERTED]),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n"
            "    run_id text NOT NULL,\n"
            "    table_name text NOT NULL,\n"
            "    column_name text NOT NULL,\n"
            "    PRIMARY KEY (run_id, table_name, column_name)\n"
            ")"
        ).format(t[ADDED]),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n"
            "    run_id text NOT NULL,\n"
            "    table_name text NOT NULL,\n"
            "    key text NOT NULL,\n"
            "    column_name text NOT NULL,  -- '*' for a whole inserted row\n"
            "    cutover_value text,\n"
            "    current_value text,\n"
            "    restore_value text,\n"
            "    detected_at timestamptz NOT NULL\n"
            ")"
        ).format(t[CONFLICTS]),
    ]


def register_run(schema: str, run_id: str, steps: list[str], compare_run: str | None, planned_at: str) -> sql.Composed:
    """The run's row; the primary key makes a second execution of the same script fail at once."""
    return sql.SQL(
        "INSERT INTO {} (run_id, status, steps, planned_at, compare_run)\nVALUES ({}, 'applying', {}, {}, {})"
    ).format(sql.Identifier(schema, RUNS), sql.Literal(run_id), sql.Literal(steps), sql.Literal(planned_at), sql.Literal(compare_run))


def finish_run(schema: str, run_id: str) -> sql.Composed:
    return sql.SQL("UPDATE {} SET status = 'applied', applied_at = clock_timestamp() WHERE run_id = {}").format(
        sql.Identifier(schema, RUNS), sql.Literal(run_id)
    )


def item_pairs(schema: str, types: tuple[tuple[str, str], ...] = ()) -> list[sql.Composed]:
    """Existing items meet Blaze items on (transaction_id, product_id), repeated keys by position.

    Existing lines are taken in id order, Blaze lines in item id order; a line with a NULL in
    the key never matches (CONTRACTS.md §4). Computed once, before anything is inserted.
    ``types`` are the (existing, staging) types of the key's columns: text ones are
    partitioned in byte order (``COLLATE "C"``), which forms the same groups (equal is equal
    in any deterministic collation) and sorts several times faster; the position within a
    group still follows the item id in the database's collation.
    """
    t = TRANSACTION_ITEMS
    keys = match_key(t)
    legacy = [n(t.column(k).legacy or k) for k in keys]
    type_e = [e for e, _ in types] if len(types) == len(keys) else [None] * len(keys)
    type_b = [b for _, b in types] if len(types) == len(keys) else [None] * len(keys)
    part_e = sql.SQL(", ").join(key_order(c, ty) for c, ty in zip(legacy, type_e))
    part_b = sql.SQL(", ").join(key_order(n(k), ty) for k, ty in zip(keys, type_b))
    not_null_e = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(c) for c in legacy)
    not_null_b = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(n(k)) for k in keys)
    on = sql.SQL(" AND ").join(sql.SQL("b.{} = e.{}").format(n(k), lc) for k, lc in zip(keys, legacy))
    on_x = sql.SQL(" AND ").join(sql.SQL("x.{} = s.{}").format(lc, n(k)) for k, lc in zip(keys, legacy))
    return [
        sql.SQL(
            "CREATE TEMPORARY TABLE {pairs} ON COMMIT DROP AS\n"
            "WITH e AS (\n"
            "    SELECT {lk} AS existing_id, {part_e}, row_number() OVER (PARTITION BY {part_e} ORDER BY {lk}) AS pos\n"
            "    FROM {legacy} WHERE {nn_e}\n"
            "), b AS (\n"
            "    SELECT {key} AS item_id, {part_b}, row_number() OVER (PARTITION BY {part_b} ORDER BY {key}) AS pos\n"
            "    FROM {staging} AS s WHERE {nn_b}\n"
            "      AND EXISTS (SELECT 1 FROM {legacy} AS x WHERE {on_x})  -- only keys an existing line has\n"
            ")\n"
            "SELECT e.existing_id, b.item_id FROM e JOIN b ON {on} AND b.pos = e.pos"
        ).format(
            pairs=n(PAIRS), lk=n(t.legacy_key), part_e=part_e, legacy=sql.Identifier(schema, t.legacy), nn_e=not_null_e,
            key=n(t.key), part_b=part_b, staging=sql.Identifier(schema, t.staging), nn_b=not_null_b, on=on, on_x=on_x,
        ),
        sql.SQL("CREATE UNIQUE INDEX ON pg_temp.{} (existing_id)").format(n(PAIRS)),
        sql.SQL("CREATE UNIQUE INDEX ON pg_temp.{} (item_id)").format(n(PAIRS)),
        sql.SQL("ANALYZE pg_temp.{}").format(n(PAIRS)),
    ]


def metrics(schema: str) -> list[sql.Composed]:
    """The metrics view, computed once for the whole run; members deleted in Blaze left out."""
    t = CUSTOMERS
    return [
        sql.SQL(
            "CREATE TEMPORARY TABLE {m} ON COMMIT DROP AS\n"
            "SELECT v.* FROM {view} AS v JOIN {staging} AS s ON s.{key} = v.{key}\n"
            "WHERE s.deleted IS NOT TRUE"
        ).format(m=n(METRICS), view=sql.Identifier(schema, METRICS_VIEW), staging=sql.Identifier(schema, t.staging), key=n(t.key)),
        sql.SQL("CREATE UNIQUE INDEX ON pg_temp.{} ({})").format(n(METRICS), n(t.key)),
        sql.SQL("ANALYZE pg_temp.{}").format(n(METRICS)),
    ]


#: key types whose order depends on a collation (``character varying(n)`` and the like included)
_COLLATABLE = ("text", "character", "varchar", "bpchar")


def key_order(column: sql.Composable, key_type: str | None) -> sql.Composable:
    """``column`` as a sort or partition key: text keys in byte order (``COLLATE "C"``).

    Byte order is the same on every server and sorts several times faster than a linguistic
    collation (which compares with ``strcoll`` and without abbreviated keys).
    """
    if key_type is not None and short_type(key_type).startswith(_COLLATABLE):
        return sql.SQL('{} COLLATE "C"').format(column)
    return column


def digest(row_text: sql.Composable, where: sql.Composable | None = None) -> sql.Composed:
    """The aggregate that fingerprints a set of rows: ``count:sum`` of 64-bit hashes of each row's text.

    Every column of every row counts (the row's text form), but not the order of the rows, so
    it needs no sort and no concatenation of the whole table: three times cheaper than an md5
    over the rows in key order, which the cutover paid five times per large table. Summed
    exactly (``numeric``), a changed, added or removed row moves it unless 64-bit hashes
    collide."""
    filtered = sql.SQL(" FILTER (WHERE {})").format(where) if where is not None else sql.SQL("")
    return sql.SQL("count(*){f} || ':' || coalesce(sum(hashtextextended({r}, 0)::numeric){f}, 0)").format(r=row_text, f=filtered)


def checksum(schema: str, t: Table) -> sql.Composed:
    """The :func:`digest` of the table's rows (every column, as text)."""
    return sql.SQL("(SELECT {} FROM {} AS x)").format(digest(sql.SQL("x::text")), sql.Identifier(schema, t.legacy))


def _lit(*values: str) -> list[sql.Literal]:
    return [sql.Literal(v) for v in values]


def log_start(schema: str, run_id: str, section: Section, previous_step: str | None) -> sql.Composed:
    """The section's log row with the table's checksum before it (the previous step's "after" if any)."""
    run, step, table = _lit(run_id, section.step.id, section.table.legacy)
    if previous_step is None:
        before = checksum(schema, section.table)
    else:
        before = sql.SQL("(SELECT l.checksum_after FROM {} AS l WHERE l.run_id = {} AND l.step = {} AND l.table_name = {})").format(
            sql.Identifier(schema, LOG), run, sql.Literal(previous_step), table
        )
    return sql.SQL(
        "INSERT INTO {log} (run_id, step, table_name, rows_changed, cells_changed, rows_inserted, checksum_before, started_at)\n"
        "SELECT {run}, {step}, {table}, 0, 0, 0, {before}, clock_timestamp()"
    ).format(log=sql.Identifier(schema, LOG), run=run, step=step, table=table, before=before)


def log_finish(schema: str, run_id: str, section: Section) -> sql.Composed:
    """Close the section's log row with the table's checksum after it (the counts were added as it ran)."""
    return sql.SQL("UPDATE {log} SET checksum_after = {after}, finished_at = clock_timestamp()\nWHERE run_id = {run} AND step = {step} AND table_name = {table}").format(
        log=sql.Identifier(schema, LOG), after=checksum(schema, section.table), run=sql.Literal(run_id),
        step=sql.Literal(section.step.id), table=sql.Literal(section.table.legacy),
    )


def add_old_column(schema: str, run_id: str, t: Table, column: str, type_: str) -> list[sql.Composed]:
    """Record that this run creates ``column`` (so only this run fills it, and its rollback drops it), then add it."""
    return [
        sql.SQL(
            "INSERT INTO {added} (run_id, table_name, column_name)\n"
            "SELECT {run}, {table}, {col}\n"
            "WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns\n"
            "                  WHERE table_schema = {schema} AND table_name = {table} AND column_name = {col})"
        ).format(added=sql.Identifier(schema, ADDED), run=sql.Literal(run_id), table=sql.Literal(t.legacy), col=sql.Literal(column), schema=sql.Literal(schema)),
        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(sql.Identifier(schema, t.legacy), n(column), sql.SQL(type_)),
        sql.SQL("COMMENT ON COLUMN {} IS {}").format(sql.Identifier(schema, t.legacy, column), sql.Literal(OLD_COMMENT)),
    ]


# ---------------------------------------------------------------------------------------------
# updates


def _value(w: Write) -> sql.Composable:
    """The new value in the written column's type (cast only when the types differ)."""
    assert w.value is not None
    if short_type(w.type) == w.value_type:
        return w.value
    return sql.SQL("({})::{}").format(w.value, sql.SQL(w.type))


def condition(schema: str, run_id: str, t: Table, w: Write, was: str = "o") -> sql.Composable:
    """When ``w`` changes a row: present, representable, and different from what is there.

    ``was`` is the alias under which the row reads as it was (``o``, or ``t`` itself inside SET and WHERE).
    """
    col = sql.SQL("{}.{}").format(n(was), n(w.column))
    if w.backs_up is not None:  # an _old column: filled once, by the run that created it
        return sql.SQL(
            "{col} IS NULL AND {was}.{src} IS NOT NULL\n"
            "            AND EXISTS (SELECT 1 FROM {added} WHERE run_id = {run} AND table_name = {table} AND column_name = {name})"
        ).format(col=col, was=n(was), src=n(w.backs_up), added=sql.Identifier(schema, ADDED), run=sql.Literal(run_id), table=sql.Literal(t.legacy), name=sql.Literal(w.column))
    assert w.value is not None
    parts = [sql.SQL("{} IS NOT NULL").format(w.value)]
    if w.value_type == "text":
        parts.append(sql.SQL("{} <> ''").format(w.value))
    if short_type(w.type) != w.value_type:  # the value must survive the cast unchanged
        parts.append(sql.SQL("({})::{} = {}").format(_value(w), sql.SQL(w.value_type), w.value))
    parts.append(sql.SQL("{} IS DISTINCT FROM {}").format(col, _value(w)))
    return sql.SQL(" AND ").join(parts)


def _source(schema: str, u: Update, left: bool, self_join: bool) -> tuple[sql.Composable, list[sql.Composable]]:
    """The FROM list of an update and the join conditions that belong in its WHERE.

    With ``self_join`` the row as it was is ``o`` (the target joined to itself: the portable way
    to return old values); without it (PostgreSQL 18+) ``RETURNING old.…`` does that and the
    source joins the target directly. An ``_old`` fill needs every row, staged or not: a
    LEFT JOIN, which only the self-join form can express.
    """
    t = u.table
    was = "o" if self_join else "t"
    if u.source == "items":
        source = sql.SQL("pg_temp.{} AS p\n    JOIN {} AS s ON s.{} = p.item_id").format(n(PAIRS), sql.Identifier(schema, t.staging), n(t.key))
        on = sql.SQL("p.existing_id = {}.{}").format(n(was), n(t.legacy_key))
    else:
        rel = sql.SQL("pg_temp.{}").format(n(METRICS)) if u.source == "metrics" else sql.Identifier(schema, t.staging)
        source = sql.SQL("{} AS s").format(rel)
        deleted = sql.SQL(" AND s.deleted IS NOT TRUE") if u.source == "staging" and any(c.name == "deleted" for c in t.columns) else sql.SQL("")
        on = sql.SQL("s.{} = {}.{}{}").format(n(t.key), n(was), n(t.column(t.key).legacy or t.legacy_key), deleted)
    if not self_join:
        return source, [on]
    target = sql.Identifier(schema, t.legacy)
    if u.source == "items":
        return sql.SQL("{} AS o\n    JOIN pg_temp.{} AS p ON {}\n    JOIN {} AS s ON s.{} = p.item_id").format(
            target, n(PAIRS), on, sql.Identifier(schema, t.staging), n(t.key)
        ), []
    join = sql.SQL("LEFT JOIN" if left else "JOIN")
    return sql.SQL("{} AS o\n    {} {} ON {}").format(target, join, source, on), []


def backup_columns(schema: str, run_id: str, step_id: str, u: Update) -> sql.Composed:
    """The columns (and their types) whose values each backup row of ``u`` holds, in order."""
    return sql.SQL("INSERT INTO {} (run_id, step, table_name, column_names, value_types)\nVALUES ({}, {}, {}, {}, {})").format(
        sql.Identifier(schema, BACKUP_COLUMNS), sql.Literal(run_id), sql.Literal(step_id), sql.Literal(u.table.legacy),
        sql.Literal([w.column for w in u.writes]), sql.Literal([w.type for w in u.writes]),
    )


def update(schema: str, run_id: str, step_id: str, u: Update, rng: Range, *, returning_old: bool = False) -> sql.Composed:
    """One key range of ``u``: the update, its backups and its counts, in one statement.

    ``returning_old`` (PostgreSQL 18+): old values come from ``RETURNING old.…`` instead of a
    self-join of the target.
    """
    t = u.table
    left = any(w.backs_up for w in u.writes)  # an _old column is filled on every row, staged or not
    self_join = left or not returning_old
    was = "o" if self_join else "t"
    conds = [condition(schema, run_id, t, w, was) for w in u.writes]
    sets = []
    for w, cond in zip(u.writes, conds):
        new = sql.SQL("{}.{}").format(n(was), n(w.backs_up)) if w.backs_up else _value(w)
        sets.append(sql.SQL("{col} = CASE WHEN {cond}\n        THEN {new} ELSE {was}.{col} END").format(col=n(w.column), cond=cond, new=new, was=n(was)))
    source, joins = _source(schema, u, left, self_join)
    where = [sql.SQL("t.{lk} = o.{lk}").format(lk=n(t.legacy_key))] if self_join else []
    where += joins
    for column in _range_columns(u, left, self_join):  # the range on every relation: each batch reads only its keys
        in_range = rng.condition(column)
        if in_range is not None:
            where.append(in_range)
    where.append(sql.SQL("(\n        ({})\n    )").format(sql.SQL(")\n     OR (").join(conds)))
    old, new = ("o", "t") if self_join else ("old", "new")
    returning = [sql.SQL("t.{}::text AS key").format(n(t.legacy_key))]
    for i, w in enumerate(u.writes):
        returning.append(
            sql.SQL("{o}.{c}::text AS {old}, {n}.{c}::text AS {new}").format(o=sql.SQL(old), n=sql.SQL(new), c=n(w.column), old=n(f"old_{i}"), new=n(f"new_{i}"))
        )
    olds = [sql.SQL("c.{}").format(n(f"old_{i}")) for i in range(len(u.writes))]
    news = [sql.SQL("c.{}").format(n(f"new_{i}")) for i in range(len(u.writes))]
    # a value counts as replaced when its text changed (what the cutover_backup view lists)
    cells = sql.SQL(" + ").join(sql.SQL("(c.{} IS DISTINCT FROM c.{})::int").format(n(f"old_{i}"), n(f"new_{i}")) for i in range(len(u.writes)))
    return sql.SQL(
        "WITH changed AS (\n"
        "    UPDATE {target} AS t SET\n"
        "        {sets}\n"
        "    FROM {source}\n"
        "    WHERE {where}\n"
        "    RETURNING {returning}\n"
        "), backed_up AS (\n"
        "    INSERT INTO {backup} (run_id, step, table_name, key, old_values, new_values)\n"
        "    SELECT {run}, {step}, {table}, c.key, ARRAY[{olds}], ARRAY[{news}]\n"
        "    FROM changed AS c\n"
        ")\n"
        "{count}"
    ).format(
        target=sql.Identifier(schema, t.legacy),
        sets=sql.SQL(",\n        ").join(sets),
        source=source,
        where=sql.SQL("\n      AND ").join(where),
        returning=sql.SQL(",\n        ").join(returning),
        backup=sql.Identifier(schema, BACKUP_ROWS),
        run=sql.Literal(run_id),
        step=sql.Literal(step_id),
        table=sql.Literal(t.legacy),
        olds=sql.SQL(", ").join(olds),
        news=sql.SQL(", ").join(news),
        count=_count(schema, run_id, step_id, t, rows="changed", cells=cells),
    )


def _range_columns(u: Update, left: bool, self_join: bool) -> list[sql.Composable]:
    t = u.table
    cols: list[sql.Composable] = [sql.SQL("t.{}").format(n(t.legacy_key))]
    if self_join:
        cols.append(sql.SQL("o.{}").format(n(t.legacy_key)))
    if u.source == "items":
        cols.append(sql.SQL("p.existing_id"))
    elif not left:  # the staging (or metrics) key holds the same values as the existing key
        cols.append(sql.SQL("s.{}").format(n(t.key)))
    return cols


def _count(schema: str, run_id: str, step_id: str, t: Table, *, rows: str, cells: sql.Composable | None = None,
           inserted: str | None = None) -> sql.Composed:
    """Add what the statement's CTEs did to the section's log row (no second pass over the backups).

    ``cells`` is the number of values a row of ``rows`` (as ``c``) replaced."""
    sets = [sql.SQL("rows_changed = rows_changed + (SELECT count(*) FROM {})").format(n(rows))]
    if cells is not None:
        sets.append(sql.SQL("cells_changed = cells_changed + (SELECT coalesce(sum({}), 0) FROM {} AS c)").format(cells, n(rows)))
    if inserted:
        sets.append(sql.SQL("rows_inserted = rows_inserted + (SELECT count(*) FROM {})").format(n(inserted)))
    return sql.SQL("UPDATE {log} SET {sets}\nWHERE run_id = {run} AND step = {step} AND table_name = {table}").format(
        log=sql.Identifier(schema, LOG), sets=sql.SQL(", ").join(sets), run=sql.Literal(run_id), step=sql.Literal(step_id), table=sql.Literal(t.legacy)
    )


# ---------------------------------------------------------------------------------------------
# insertions


def insert_filter(schema: str, i: Insert) -> list[sql.Composable]:
    """Which staging rows are new: not in the existing table, not deleted, complete enough."""
    t = i.table
    values = dict(i.columns)
    out: list[sql.Composable] = []
    if t is TRANSACTION_ITEMS:
        keys = match_key(t)
        out += [sql.SQL("s.{} IS NOT NULL").format(n(k)) for k in keys]
        out.append(sql.SQL("NOT EXISTS (SELECT 1 FROM pg_temp.{} AS p WHERE p.item_id = s.{})").format(n(PAIRS), n(t.key)))
        out.append(
            sql.SQL("EXISTS (SELECT 1 FROM {} AS x WHERE x.{} = s.{})").format(
                sql.Identifier(schema, TRANSACTIONS.legacy), n(TRANSACTIONS.legacy_key), n("transaction_id")
            )
        )
    else:
        out.append(
            sql.SQL("NOT EXISTS (SELECT 1 FROM {} AS e WHERE e.{} = s.{})").format(
                sql.Identifier(schema, t.legacy), n(t.column(t.key).legacy or t.legacy_key), n(t.key)
            )
        )
        if any(c.name == "deleted" for c in t.columns):
            out.append(sql.SQL("s.deleted IS NOT TRUE"))
    out += [sql.SQL("{} IS NOT NULL").format(values[c]) for c in i.required]
    return out


def row_of(columns: list[str], alias: str | None) -> sql.Composed:
    """``md5(ROW(a.c1, a.c2, …)::text)``: the fingerprint of what an insertion wrote."""
    cols = [sql.SQL("{}.{}").format(n(alias), n(c)) if alias else n(c) for c in columns]
    return sql.SQL("md5(ROW({})::text)").format(sql.SQL(", ").join(cols))


#: the column of a new-records set that holds the staging key (its batches split on it)
NEW_KEY = "cutover_key"


def new_rows_table(t: Table) -> sql.Composed:
    return sql.SQL("pg_temp.{}").format(n(f"cutover_new_{t.legacy}"))


def new_rows(schema: str, i: Insert) -> list[sql.Composed]:
    """The records only Blaze has, with the values they will get, found ONCE before the batches.

    Filtering per batch would re-run the anti-join (and, for items, re-read every transaction)
    in each batch; nothing a batch inserts changes which other staging rows are new (staging
    keys are unique), so the set is the same. Its index on the staging key (the plan's ranges
    are over that key, in the database's collation) gives each batch its rows in key order
    without a sort.
    """
    t = i.table
    source = sql.SQL("{} AS s").format(sql.Identifier(schema, t.staging))
    if t is CUSTOMERS:
        source = sql.SQL("{}\n    LEFT JOIN pg_temp.{} AS m ON m.{} = s.{}").format(source, n(METRICS), n(t.key), n(t.key))
    values = [sql.SQL("s.{} AS {}").format(n(t.key), n(NEW_KEY))] + [sql.SQL("{} AS {}").format(v, n(c)) for c, v in i.columns]
    return [
        sql.SQL(
            "CREATE TEMPORARY TABLE {new} ON COMMIT DROP AS\n"
            "SELECT {values}\n"
            "FROM {source}\n"
            "WHERE {where}"
        ).format(
            new=n(f"cutover_new_{t.legacy}"),
            values=sql.SQL(",\n       ").join(values),
            source=source,
            where=sql.SQL("\n  AND ").join(insert_filter(schema, i)),
        ),
        sql.SQL("CREATE UNIQUE INDEX ON {} ({})").format(new_rows_table(t), n(NEW_KEY)),
        # the key's histogram: each batch's key range then reads its rows by index, in key order,
        # instead of scanning (and sorting) the whole set per batch
        sql.SQL("ANALYZE {} ({})").format(new_rows_table(t), n(NEW_KEY)),
    ]


def insert(schema: str, run_id: str, step_id: str, i: Insert, rng: Range) -> sql.Composed:
    """One key range of the records only Blaze has (:func:`new_rows`), inserted and recorded in one statement."""
    t = i.table
    cols = [c for c, _ in i.columns]
    where = rng.condition(sql.SQL("q.{}").format(n(NEW_KEY)))
    return sql.SQL(
        "WITH inserted AS (\n"
        "    INSERT INTO {target} AS t ({cols})\n"
        "    SELECT {values}\n"
        "    FROM {new} AS q{where}\n"
        "    ORDER BY q.{key}\n"
        "    RETURNING t.{lk}::text AS key, {md5} AS row_md5\n"
        "), recorded AS (\n"
        "    INSERT INTO {inserted} (run_id, step, table_name, key, row_md5)\n"
        "    SELECT {run}, {step}, {table}, key, row_md5 FROM inserted\n"
        "    RETURNING 1\n"
        ")\n"
        "{count}"
    ).format(
        target=sql.Identifier(schema, t.legacy),
        cols=sql.SQL(", ").join(n(c) for c in cols),
        values=sql.SQL(", ").join(sql.SQL("q.{}").format(n(c)) for c in cols),
        new=new_rows_table(t),
        where=sql.SQL("\n    WHERE {}").format(where) if where is not None else sql.SQL(""),
        key=n(NEW_KEY),
        lk=n(t.legacy_key),
        md5=row_of(cols, "t"),
        inserted=sql.Identifier(schema, INSERTED),
        run=sql.Literal(run_id),
        step=sql.Literal(step_id),
        table=sql.Literal(t.legacy),
        count=_count(schema, run_id, step_id, t, rows="recorded", inserted="recorded"),
    )


def batch_column(schema: str, action: Update | Insert) -> tuple[sql.Composable, sql.Composable]:
    """The relation and column whose sorted values split ``action`` into key ranges."""
    t = action.table
    if isinstance(action, Insert):
        return sql.Identifier(schema, t.staging), n(t.key)
    return sql.Identifier(schema, t.legacy), n(t.legacy_key)


def boundaries_query(schema: str, action: Update | Insert, batch_size: int) -> sql.Composed:
    """Every ``batch_size``-th key, which split the table into key-ordered batches."""
    rel, col = batch_column(schema, action)
    return sql.SQL(
        "SELECT k FROM (SELECT {col} AS k, row_number() OVER (ORDER BY {col}) AS rn FROM {rel} WHERE {col} IS NOT NULL) AS q "
        "WHERE rn > 1 AND rn % {size} = 1 ORDER BY k"
    ).format(col=col, rel=rel, size=sql.Literal(int(batch_size)))


__all__ = [
    "ADDED",
    "BACKUP",
    "BACKUP_COLUMNS",
    "BACKUP_ROWS",
    "CONFLICTS",
    "INSERTED",
    "LOG",
    "RUNS",
    "SIDE_TABLES",
    "Range",
    "add_old_column",
    "backup_columns",
    "boundaries_query",
    "checksum",
    "condition",
    "finish_run",
    "insert",
    "item_pairs",
    "key_order",
    "log_finish",
    "log_start",
    "new_rows",
    "metrics",
    "ranges",
    "register_run",
    "row_of",
    "settings",
    "side_tables",
    "update",
]
