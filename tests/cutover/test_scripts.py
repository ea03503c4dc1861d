"""The scripts themselves: identifiers composed, finalize guarded, the latest run found."""

from __future__ import annotations

import importlib

import pytest
from psycopg import sql

from blaze_workbook import cutover, legacy, phase1
from blaze_workbook.cutover.plan import load, read_script
from blaze_workbook.cutover.script import parse, run_parts
from blaze_workbook.errors import ConfigurationError, DatabaseError

from ._world import AS_OF, STAGING_SQL, rows

ODD = 'Odd "Schema"; --'


def _odd_checksums(conn) -> dict:
    out = {}
    with conn.transaction():
        for name in ("customers", "transactions", "transaction_items", "products"):
            out[name] = conn.execute(
                sql.SQL("SELECT md5(coalesce(string_agg(x::text, chr(10) ORDER BY x.id), '')) FROM {} AS x").format(sql.Identifier(ODD, name))
            ).fetchone()[0]
    return out


def test_a_schema_name_needing_quotes_is_just_a_name(empty_db, tmp_path):
    with empty_db.connect() as conn:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(ODD)))
        legacy.create_schema(conn, ODD)
        phase1.apply(conn, schema=ODD)
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL search_path = {}").format(sql.Identifier(ODD)))
            conn.execute(STAGING_SQL)
            conn.execute("INSERT INTO customers (member_id, name, phone) VALUES ('m-1', 'Ana  Lopez', '+15551230001')")
        before = _odd_checksums(conn)
        plan = cutover.plan(conn, tmp_path / "run", schema=ODD, as_of=AS_OF)
        assert plan.rows > 0
        cutover.apply(conn, tmp_path / "run", gate_passed=True)
        assert rows(conn, sql.SQL("SELECT name FROM {} WHERE member_id = 'm-1'").format(sql.Identifier(ODD, "customers")).as_string(conn)) == [("Ana Lopez",)]
        cutover.rollback(conn, tmp_path / "run")
        assert _odd_checksums(conn) == before


def test_plan_without_01_setup_says_what_to_do(legacy_db, tmp_path):
    with legacy_db.connect() as conn, pytest.raises(DatabaseError, match="01_setup"):
        cutover.plan(conn, tmp_path / "run")


def test_finalize_waits_for_the_retention_period_then_drops_the_backups(world):
    world.plan(retention_days=7)
    world.apply()
    plan = load(world.tmp / "run")
    finalize = parse(read_script(plan, "finalize"))
    with pytest.raises(DatabaseError, match="retention period"), world.conn.transaction():
        run_parts(world.conn, finalize, "finalize.sql")
    with world.conn.transaction():
        world.conn.execute("UPDATE cutover_runs SET applied_at = applied_at - interval '8 days'")
        run_parts(world.conn, finalize, "finalize.sql")
    assert rows(world.conn, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'customers' AND column_name LIKE '%\\_old'") == [(0,)]
    assert rows(world.conn, "SELECT to_regclass('customers_blaze_staging'), to_regclass('customers_blaze_metrics')") == [(None, None)]
    with pytest.raises(ConfigurationError, match="finalized"):
        cutover.rollback(world.conn, world.tmp / "run")


def test_latest_applied_run_is_the_rollback_default(world):
    assert cutover.latest_applied(world.conn) is None
    first = world.plan("first", steps=[1])
    world.apply("first")
    second = world.plan("second", steps=[2])
    world.apply("second")
    assert cutover.latest_applied(world.conn)[0] == second.run_id
    cutover.rollback(world.conn, second.run_id)
    assert cutover.latest_applied(world.conn)[0] == first.run_id


def test_planning_again_into_an_applied_runs_folder_is_refused(world):
    world.plan()
    world.apply()
    with pytest.raises(ConfigurationError, match="plan into a new run folder"):
        world.plan()


def test_the_portable_form_for_servers_before_18_gives_the_same_result(world, monkeypatch):
    plan_module = importlib.import_module("blaze_workbook.cutover.plan")  # the module, not the function

    def contents() -> dict:  # inserted rows get a new serial id and created_at on each apply: compare the rest
        return {
            t: sorted(r[0] for r in rows(world.conn, f"SELECT (to_jsonb(x) - 'id' - 'created_at' - 'updated_at')::text FROM {t} AS x"))
            for t in ("customers", "transactions", "transaction_items", "products")
        }

    world.plan("modern")
    world.apply("modern")
    modern = contents()
    cutover.rollback(world.conn, world.tmp / "modern")
    monkeypatch.setattr(plan_module, "RETURNING_OLD_SINCE", 10**9)  # as if the server were older: self-joins
    world.plan("portable")
    assert "RETURNING old." not in (world.tmp / "portable" / "cutover.sql").read_text()
    world.apply("portable")
    assert contents() == modern
    cutover.rollback(world.conn, world.tmp / "portable")
    assert world.checksums() == world.before
