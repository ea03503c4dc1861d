"""The before/after examples the cutover report shows: real values, read from the run's backup.

Ground truth is the database itself: a plan's ``before`` is what the table still holds (the dry
run was rolled back), its ``after`` is what apply then writes, and its new rows are absent
before apply and present after (except where a sequence assigns the key: apply draws another).
"""

from __future__ import annotations

import polars as pl
from psycopg import sql

from blaze_workbook.cutover import examples
from blaze_workbook.mapping import TABLES

KEYS = {t.legacy: t.legacy_key for t in TABLES}


def _value(conn, table: str, column: str, key: str) -> str | None:
    query = sql.SQL("SELECT {}::text FROM {} WHERE {}::text = %s").format(
        sql.Identifier(column), sql.Identifier(table), sql.Identifier(KEYS[table]))
    with conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        conn.execute("SET LOCAL DateStyle = 'ISO'")
        found = conn.execute(query, (key,)).fetchall()
    return found[0][0] if found else "(no row)"


def test_plan_examples_are_todays_values_and_what_apply_writes(world):
    planned = world.plan()
    found = planned.examples
    assert found is not None and found.schema == pl.Schema(examples.SCHEMA)
    values = found.filter(pl.col("column") != "*")
    inserted = found.filter(pl.col("column") == "*")
    # every changing step and table has examples; none is a bare copy into an _old column
    changing = {(s.id, t.table) for s in planned.steps for t in s.tables if t.cells}
    assert {(r["step"], r["table"]) for r in values.iter_rows(named=True)} == changing
    assert not values["column"].str.ends_with("_old").any()
    assert values.group_by("step", "table", "column").len()["len"].max() <= 2
    assert inserted.height > 0
    for row in values.iter_rows(named=True):
        assert _value(world.conn, row["table"], row["column"], row["key"]) == row["before"], row
    for row in inserted.iter_rows(named=True):
        assert _value(world.conn, row["table"], KEYS[row["table"]], row["key"]) == "(no row)", row

    applied = world.apply()
    for row in values.iter_rows(named=True):
        assert _value(world.conn, row["table"], row["column"], row["key"]) == row["after"], row
    drawn = pl.col("table").is_in(list(examples.ASSIGNED_KEYS))
    assert inserted.filter(drawn).height > 0
    for row in inserted.filter(~drawn).iter_rows(named=True):
        assert _value(world.conn, row["table"], KEYS[row["table"]], row["key"]) == row["key"], row
    # read back after apply, from the backup the run keeps: the same values, and real new keys
    again = examples.read(world.conn, "public", applied.run_id)
    same = ~((pl.col("column") == "*") & drawn)
    assert again.filter(same).sort(again.columns).equals(found.filter(same).sort(found.columns))
    for row in again.filter(~same).iter_rows(named=True):
        assert _value(world.conn, row["table"], KEYS[row["table"]], row["key"]) == row["key"], row
