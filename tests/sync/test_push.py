"""push: the warehouse into real Postgres staging tables, only what changed, idempotent, safe."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal
from psycopg import sql

from _sync_pages import T0, history, member, page, transaction
from blaze_workbook.errors import DatabaseError, LockedError, WorkbookError
from blaze_workbook.mapping import CUSTOMERS, TABLES, TRANSACTION_ITEMS, TRANSACTIONS
from blaze_workbook.setup_sql import create_staging
from blaze_workbook.sync import Warehouse, push


@pytest.fixture()
def db(empty_db):
    """A fresh database with the staging tables 01_setup creates."""
    with empty_db.connect() as conn:
        for t in TABLES:
            conn.execute(create_staging("public", t))
        conn.commit()
    return empty_db


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A warehouse after a small sync, built once; each test gets a copy."""
    path = tmp_path_factory.mktemp("built") / "warehouse.duckdb"
    with Warehouse.open(path) as warehouse:
        for i, (entity, body, state) in enumerate(history(4)):
            warehouse.ingest("run-1", entity, body, {"i": i}, state)
    return path


@pytest.fixture()
def wh(built, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built, copy)
    with Warehouse.open(copy) as warehouse:
        yield warehouse


def pg_frame(conninfo: str, t, schema: str = "public") -> pl.DataFrame:
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        names = [c.name for c in t.columns]
        rows = conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
                sql.SQL(", ").join(map(sql.Identifier, names)), sql.Identifier(schema, t.staging), sql.Identifier(t.key)
            )
        ).fetchall()
    return rows, names


def assert_pushed(w: Warehouse, conninfo: str, schema: str = "public") -> None:
    """Postgres holds exactly what the warehouse says, value for value."""
    for t in TABLES:
        expected = w.staging_frame(t)
        rows, names = pg_frame(conninfo, t, schema)
        got = pl.DataFrame(rows, schema=expected.schema, orient="row")
        assert_frame_equal(got, expected, check_exact=True)


def test_push_writes_exactly_the_warehouse_and_twice_changes_nothing(wh, db):
    first = push(wh, db.conninfo)
    assert {k: (v.sent, v.inserted, v.updated, v.full) for k, v in first.items()} == {
        t.staging: (n, n, 0, True) for t, n in zip(TABLES, wh.row_counts().values(), strict=True)
    }
    assert_pushed(wh, db.conninfo)
    second = push(wh, db.conninfo)
    assert all((c.sent, c.inserted, c.updated, c.full) == (0, 0, 0, False) for c in second.values())
    full = push(wh, db.conninfo, full=True)
    assert all(c.inserted == c.updated == 0 and c.unchanged == c.sent > 0 for c in full.values())
    assert_pushed(wh, db.conninfo)


def test_numbers_are_stored_as_sent_and_text_round_trips(wh, db):
    odd = 'a,"b"\n\\.\n\t€ 🌿'
    wh.ingest("run-2", "members", page(member(900, T0, email="", primaryPhone=None, firstName=odd, lastName="")))
    push(wh, db.conninfo)
    with psycopg.connect(db.conninfo) as conn:
        name, email, phone = conn.execute("SELECT name, email, phone FROM customers_blaze_staging WHERE member_id = 'm0900'").fetchone()
        assert (name, email, phone) == ('a,"b" \\. € 🌿', "", None)
        total, tax = conn.execute(
            "SELECT t.total_amount::text, i.tax::text FROM transactions_blaze_staging t "
            "JOIN transaction_items_blaze_staging i USING (transaction_id) ORDER BY 1 LIMIT 1"
        ).fetchone()
        assert (total, tax) == ("10.05", "13.1763")


def test_only_changed_rows_are_sent(wh, db):
    push(wh, db.conninfo)
    wh.ingest("run-2", "members", page(member(0, T0 + 10**6, primaryPhone="changed"), member(1, T0 - 5)))
    wh.ingest("run-2", "transactions", page(transaction(0, T0 + 10**6, total="99.99")))
    counts = push(wh, db.conninfo)
    assert (counts[CUSTOMERS.staging].sent, counts[CUSTOMERS.staging].updated) == (1, 1)
    assert (counts[TRANSACTIONS.staging].sent, counts[TRANSACTIONS.staging].updated) == (1, 1)
    assert counts[TRANSACTION_ITEMS.staging].sent == 0  # the items did not change
    assert_pushed(wh, db.conninfo)


def test_a_lookup_change_sends_everything_again(wh, db):
    push(wh, db.conninfo)
    seller = transaction(0)["sellerId"]
    wh.ingest("run-2", "employees", page({"id": seller, "firstName": "New", "lastName": "Name"}))
    counts = push(wh, db.conninfo)
    assert counts[TRANSACTIONS.staging].full and counts[TRANSACTIONS.staging].updated == counts[TRANSACTIONS.staging].sent > 0
    assert counts[CUSTOMERS.staging].full and counts[CUSTOMERS.staging].updated == 0
    assert_pushed(wh, db.conninfo)


def test_after_a_replay_the_next_push_checks_everything(wh, db):
    push(wh, db.conninfo)
    wh.replay()
    counts = push(wh, db.conninfo)
    assert all(c.full and c.sent == c.unchanged for c in counts.values())
    assert_pushed(wh, db.conninfo)


def test_postgres_down_then_the_next_push_sends_it_all(wh, db, tmp_path):
    down = f"postgresql://postgres@/nowhere?host={tmp_path}&port=1"
    with pytest.raises(DatabaseError):
        push(wh, down)
    counts = push(wh, db.conninfo)
    assert all(c.full and c.inserted == c.sent for c in counts.values())
    assert_pushed(wh, db.conninfo)


def test_a_push_that_fails_half_way_is_completed_by_the_next(wh, db):
    with psycopg.connect(db.conninfo) as conn:
        conn.execute("DROP TABLE products_blaze_staging")
    with pytest.raises(DatabaseError, match="does not exist"):
        push(wh, db.conninfo)
    with psycopg.connect(db.conninfo) as conn:
        conn.execute(create_staging("public", TABLES[3]))
    wh.ingest("run-2", "members", page(member(0, T0 + 10**6, primaryPhone="meanwhile")))
    counts = push(wh, db.conninfo)
    assert counts[CUSTOMERS.staging].sent == 1 and counts["products_blaze_staging"].full
    assert_pushed(wh, db.conninfo)


def test_a_held_lock_times_out_with_locked_error_and_nothing_changes(wh, db):
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        with psycopg.connect(db.conninfo) as conn, conn.transaction():
            conn.execute("LOCK TABLE customers_blaze_staging IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        with pytest.raises(LockedError):
            push(wh, db.conninfo, tables=["customers"], lock_timeout="200ms")
    finally:
        release.set()
        holder.join()
    assert wh.push_marker(CUSTOMERS, _target(db.conninfo)) is None
    push(wh, db.conninfo)
    assert_pushed(wh, db.conninfo)


def _target(conninfo: str) -> str:
    with psycopg.connect(conninfo) as conn:
        info = conn.info
        return f"{info.host}:{info.port}/{info.dbname}/public"


def test_an_emptied_target_is_filled_again(wh, db):
    push(wh, db.conninfo)
    with psycopg.connect(db.conninfo) as conn:
        conn.execute("TRUNCATE customers_blaze_staging")
    counts = push(wh, db.conninfo)
    assert counts[CUSTOMERS.staging].full and counts[CUSTOMERS.staging].inserted == wh.row_counts()[CUSTOMERS.staging]
    assert_pushed(wh, db.conninfo)


def test_identifiers_are_composed_not_formatted(wh, empty_db):
    schema = 'odd "schema"; drop'
    with empty_db.connect() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for t in TABLES:
            conn.execute(create_staging(schema, t))
        conn.commit()
    with psycopg.connect(empty_db.conninfo) as conn:
        push(wh, conn, schema=schema)  # an open connection is used, not closed
        assert not conn.closed
    assert_pushed(wh, empty_db.conninfo, schema)


def test_errors_belong_to_the_one_error_tree(wh):
    with pytest.raises(WorkbookError):
        push(wh, "not a connection string at all ===")
    assert json.loads(json.dumps(wh.row_counts()))  # the warehouse is untouched and usable
