"""``rollback.sql`` and ``finalize.sql``, generated with the cutover they belong to.

Rollback works from ``cutover_backup`` and ``cutover_inserted`` alone, so it still works days
later. The run id is set once, at the top (``cutover.run_id``); every statement reads it.
For each value the run replaced, in reverse step order:

- the table still holds what the cutover wrote → the old value is restored exactly;
- it holds something else (another application changed it since) → it is left alone and
  reported in ``cutover_conflicts``.

A row the run inserted is deleted when it still hashes to what was inserted, else reported.
Last, each ``_old`` column this run created is dropped once it holds nothing (its values were
the run's own and have just been reset): with the inserted rows gone and every value back,
every table is byte-identical to before the run (``md5`` of its rows in key order). An
``_old`` column that existed before the run stays; dropping the backup columns for good is
``finalize.sql``'s job, after the retention period.

``finalize.sql`` is emitted for review and never run by the workbook.
"""

from __future__ import annotations

from psycopg import sql

from ..mapping import CUSTOMERS, METRICS_VIEW, TABLES, Table
from ..setup_sql import comparison_view
from . import sqlgen
from .script import Part
from .steps import CALCULATED_FIELDS, DERIVED_STEP_FIELDS, OLD_SUFFIX, Context, Insert, Section, Update, Write

n = sql.Identifier
RUN = sql.SQL("current_setting('cutover.run_id')")


def _key(ctx: Context, t: Table, alias: str, key_expr: sql.Composable) -> sql.Composed:
    return sql.SQL("{}.{} = {}::{}").format(n(alias), n(t.legacy_key), key_expr, sql.SQL(ctx.catalog[t.legacy].type_of(t.legacy_key)))


def guard(schema: str) -> sql.Composed:
    """Refuse unless the run is applied and no run applied after it is still in place."""
    return sql.SQL(
        "DO $guard$\n"
        "DECLARE\n"
        "    v_run text := current_setting('cutover.run_id');\n"
        "    v_status text;\n"
        "    v_later text;\n"
        "BEGIN\n"
        "    SELECT status INTO v_status FROM {runs} WHERE run_id = v_run FOR UPDATE;\n"
        "    IF v_status IS DISTINCT FROM 'applied' THEN\n"
        "        RAISE EXCEPTION 'cutover run % is not applied (status %): nothing to roll back', v_run, coalesce(v_status, 'unknown');\n"
        "    END IF;\n"
        "    SELECT string_agg(r.run_id, ', ') INTO v_later FROM {runs} AS r\n"
        "    WHERE r.status = 'applied' AND r.applied_at > (SELECT applied_at FROM {runs} WHERE run_id = v_run);\n"
        "    IF v_later IS NOT NULL THEN\n"
        "        RAISE EXCEPTION 'cutover run(s) % were applied after %: roll them back first', v_later, v_run;\n"
        "    END IF;\n"
        "END\n$guard$"
    ).format(runs=sql.Identifier(schema, sqlgen.RUNS))


UNDO = "cutover_undo"


def undo_table(ctx: Context) -> list[sql.Composed]:
    """This run's backups, copied once and indexed, so each table's undo reads only its own."""
    return [
        sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS\nSELECT * FROM {} WHERE run_id = {}").format(n(UNDO), sql.Identifier(ctx.schema, sqlgen.BACKUP), RUN),
        sql.SQL("CREATE INDEX ON pg_temp.{} (step, table_name)").format(n(UNDO)),
        sql.SQL("ANALYZE pg_temp.{}").format(n(UNDO)),
    ]


def restore(ctx: Context, t: Table, step_id: str, writes: tuple[Write, ...]) -> list[sql.Composed]:
    """Report the values changed since the cutover, then restore all others in one pass.

    A value is restored only where the table still holds what the cutover wrote (compared as
    text); every other backed-up value of this (step, table) is a conflict, kept as it is.
    """
    target = sql.Identifier(ctx.schema, t.legacy)
    mine = sql.SQL("u.step = {} AND u.table_name = {}").format(sql.Literal(step_id), sql.Literal(t.legacy))
    current = sql.SQL("(CASE u.column_name {} END)").format(
        sql.SQL(" ").join(sql.SQL("WHEN {} THEN t.{}::text").format(sql.Literal(w.column), n(w.column)) for w in writes)
    )
    pivot = []
    sets = []
    for i, w in enumerate(writes):
        name = sql.Literal(w.column)
        pivot.append(
            sql.SQL("bool_or(u.column_name = {c}) AS {h}, max(u.old_value) FILTER (WHERE u.column_name = {c}) AS {o}, "
                    "max(u.new_value) FILTER (WHERE u.column_name = {c}) AS {nw}").format(c=name, h=n(f"has_{i}"), o=n(f"old_{i}"), nw=n(f"new_{i}"))
        )
        sets.append(
            sql.SQL("{c} = CASE WHEN u.{h} AND t.{c}::text IS NOT DISTINCT FROM u.{nw} THEN u.{o}::{ty} ELSE t.{c} END").format(
                c=n(w.column), h=n(f"has_{i}"), nw=n(f"new_{i}"), o=n(f"old_{i}"), ty=sql.SQL(w.type)
            )
        )
    restorable = sql.SQL(" OR ").join(
        sql.SQL("(u.{h} AND t.{c}::text IS NOT DISTINCT FROM u.{nw})").format(h=n(f"has_{i}"), c=n(w.column), nw=n(f"new_{i}"))
        for i, w in enumerate(writes)
    )
    return [
        sql.SQL(
            "INSERT INTO {conflicts} (run_id, table_name, key, column_name, cutover_value, current_value, restore_value, detected_at)\n"
            "SELECT u.run_id, u.table_name, u.key, u.column_name, u.new_value, {current}, u.old_value, clock_timestamp()\n"
            "FROM pg_temp.{undo} AS u\n"
            "LEFT JOIN {target} AS t ON {on}\n"
            "WHERE {mine} AND {current} IS DISTINCT FROM u.new_value"
        ).format(conflicts=sql.Identifier(ctx.schema, sqlgen.CONFLICTS), current=current, undo=n(UNDO), target=target,
                 on=_key(ctx, t, "t", sql.SQL("u.key")), mine=mine),
        sql.SQL(
            "UPDATE {target} AS t SET\n    {sets}\n"
            "FROM (\n    SELECT u.key,\n        {pivot}\n    FROM pg_temp.{undo} AS u WHERE {mine} GROUP BY u.key\n) AS u\n"
            "WHERE {on}\n  AND ({restorable})"
        ).format(target=target, sets=sql.SQL(",\n    ").join(sets), pivot=sql.SQL(",\n        ").join(pivot), undo=n(UNDO), mine=mine,
                 on=_key(ctx, t, "t", sql.SQL("u.key")), restorable=restorable),
    ]


def remove(ctx: Context, t: Table, i: Insert) -> list[sql.Composed]:
    """Report the inserted rows changed since, then delete the others."""
    inserted, target = sql.Identifier(ctx.schema, sqlgen.INSERTED), sql.Identifier(ctx.schema, t.legacy)
    md5 = sqlgen.row_of([c for c, _ in i.columns], "t")
    mine = sql.SQL("i.run_id = {} AND i.table_name = {}").format(RUN, sql.Literal(t.legacy))
    return [
        sql.SQL(
            "INSERT INTO {conflicts} (run_id, table_name, key, column_name, cutover_value, current_value, restore_value, detected_at)\n"
            "SELECT i.run_id, i.table_name, i.key, '*', i.row_md5, {md5}, NULL, clock_timestamp()\n"
            "FROM {inserted} AS i\n"
            "JOIN {target} AS t ON {on}\n"
            "WHERE {mine} AND {md5} IS DISTINCT FROM i.row_md5"
        ).format(conflicts=sql.Identifier(ctx.schema, sqlgen.CONFLICTS), md5=md5, inserted=inserted, target=target, on=_key(ctx, t, "t", sql.SQL("i.key")), mine=mine),
        sql.SQL("DELETE FROM {target} AS t\nUSING {inserted} AS i\nWHERE {mine} AND {on} AND {md5} = i.row_md5").format(
            target=target, inserted=inserted, mine=mine, on=_key(ctx, t, "t", sql.SQL("i.key")), md5=md5
        ),
    ]


def drop_old(ctx: Context, t: Table, column: str) -> sql.Composed:
    """Drop an ``_old`` column this run created, once nothing is left in it."""
    return sql.SQL(
        "DO $drop$\n"
        "BEGIN\n"
        "    IF EXISTS (SELECT 1 FROM {added} WHERE run_id = current_setting('cutover.run_id') AND table_name = {table} AND column_name = {col})\n"
        "       AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = {schema} AND table_name = {table} AND column_name = {col}) THEN\n"
        "        IF NOT EXISTS (SELECT 1 FROM {target} WHERE {c} IS NOT NULL) THEN\n"
        "            ALTER TABLE {target} DROP COLUMN {c};\n"
        "        ELSE\n"
        "            RAISE NOTICE '%.% still holds values another application wrote: kept', {table}, {col};\n"
        "        END IF;\n"
        "    END IF;\n"
        "END\n$drop$"
    ).format(
        added=sql.Identifier(ctx.schema, sqlgen.ADDED), table=sql.Literal(t.legacy), col=sql.Literal(column), schema=sql.Literal(ctx.schema),
        target=sql.Identifier(ctx.schema, t.legacy), c=n(column),
    )


def set_run(run_id: str) -> sql.Composed:
    return sql.SQL("SELECT set_config('cutover.run_id', {}, true)").format(sql.Literal(run_id))


def parts(ctx: Context, run_id: str, sections: tuple[Section, ...], lock_timeout: str, statement_timeout: str) -> list[Part]:
    """Every part of ``rollback.sql``: the cutover's sections undone in reverse order."""
    out = [
        Part(
            "preamble",
            "",
            (set_run(run_id), *sqlgen.settings(lock_timeout, statement_timeout), guard(ctx.schema), *undo_table(ctx)),
            ("the run to roll back is set here, once; every statement below reads it",),
        )
    ]
    for section in reversed(sections):
        statements: list[sql.Composable] = []
        for action in reversed(section.actions):
            if isinstance(action, Update):
                statements += restore(ctx, section.table, section.step.id, action.writes)
            else:
                statements += remove(ctx, section.table, action)
        out.append(Part("undo", f"{section.step.id} {section.table.legacy}", tuple(statements)))
    dropped = [drop_old(ctx, s.table, c) for s in sections for c, _ in s.add_columns]
    if dropped:
        out.append(Part("drop", "old_columns", tuple(dropped), ("the _old columns this run created, now empty again",)))
    out.append(
        Part(
            "finish",
            "",
            (
                sql.SQL(
                    "UPDATE {runs} SET status = 'rolled_back', rolled_back_at = clock_timestamp(),\n"
                    "    conflicts = (SELECT count(*) FROM {conflicts} WHERE run_id = {run})\n"
                    "WHERE run_id = {run}"
                ).format(runs=sql.Identifier(ctx.schema, sqlgen.RUNS), conflicts=sql.Identifier(ctx.schema, sqlgen.CONFLICTS), run=RUN),
            ),
        )
    )
    return out


def finalize_parts(ctx: Context, run_id: str, retention_days: int) -> list[Part]:
    """Drop the ``_old`` columns and the staging tables once the retention period is over."""
    runs = sql.Identifier(ctx.schema, sqlgen.RUNS)
    guard_sql = sql.SQL(
        "DO $finalize$\n"
        "DECLARE v_applied timestamptz;\n"
        "BEGIN\n"
        "    SELECT applied_at INTO v_applied FROM {runs} WHERE run_id = {run} AND status = 'applied';\n"
        "    IF v_applied IS NULL THEN\n"
        "        RAISE EXCEPTION 'cutover run % is not applied: nothing to finalize', {run};\n"
        "    END IF;\n"
        "    IF now() < v_applied + make_interval(days => {days}) THEN\n"
        "        RAISE EXCEPTION 'the retention period of % days after the cutover (applied %) is not over', {days}, v_applied;\n"
        "    END IF;\n"
        "END\n$finalize$"
    ).format(runs=runs, run=sql.Literal(run_id), days=sql.Literal(int(retention_days)))
    olds = [f + OLD_SUFFIX for f in (*CALCULATED_FIELDS, *DERIVED_STEP_FIELDS)]
    drops: list[sql.Composable] = [
        sql.SQL("ALTER TABLE {} DROP COLUMN IF EXISTS {}").format(sql.Identifier(ctx.schema, CUSTOMERS.legacy), n(c)) for c in olds
    ]
    views = [*(comparison_view(t) for t in TABLES), METRICS_VIEW]  # dependents first
    staging: list[sql.Composable] = [sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(ctx.schema, v)) for v in views]
    staging += [sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(ctx.schema, t.staging)) for t in TABLES]
    mark = sql.SQL("UPDATE {} SET status = 'finalized' WHERE status = 'applied'").format(runs)
    return [
        Part("preamble", "", (guard_sql,), (f"refuses to run before the retention period ({retention_days} days after the apply) is over",)),
        Part("drop", "old_columns", tuple(drops), ("the plan's user-visible backups: the values before the cutover",)),
        Part(
            "drop",
            "staging",
            tuple(staging),
            ("the staging tables and the views built on them (01_setup re-creates them; 02_sync needs them to keep running)",),
        ),
        Part("finish", "", (mark,), ("applied runs can no longer be rolled back: their _old columns are gone; cutover_* tables stay as the audit trail",)),
    ]


__all__ = ["finalize_parts", "parts", "set_run"]
