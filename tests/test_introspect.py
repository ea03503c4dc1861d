"""The introspection report on a real Postgres: the legacy shape, drift, and Phase 1's progress."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from _fixtures_pg import SEED_ROWS
from blaze_workbook import legacy, mapping, phase1, postgres
from blaze_workbook.errors import DatabaseError
from blaze_workbook.introspect import base_type, canonical_type, inspect_database, row_counts

SHARED_SCHEMA = Path("/work/shared/legacy_schema.sql")


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("TIMESTAMP WITH TIME ZONE", "timestamptz"),
        ("timestamp without time zone", "timestamp"),
        ("INTEGER", "integer"),
        ("serial", "integer"),
        ("NUMERIC(12, 2)", "numeric(12,2)"),
        ("character varying(20)", "varchar(20)"),
        ("TEXT", "text"),
        ("BOOLEAN", "boolean"),
    ],
)
def test_canonical_type(spelled, canonical):
    assert canonical_type(spelled) == canonical


def test_base_type_drops_modifiers():
    assert base_type("NUMERIC(12, 2)") == "numeric"


def test_the_shipped_schema_describes_the_four_tables():
    tables = legacy.expected_tables()
    assert list(tables) == ["customers", "transactions", "transaction_items", "products"]
    assert tables["customers"]["id"] == "integer"  # serial
    assert tables["transactions"]["date"] == "timestamptz"
    assert tables["transaction_items"]["quantity"] == "integer"
    assert "cost" in tables["products"] and "image_url" in tables["products"]
    for t in mapping.TABLES:  # every compared column names a column of the legacy schema
        for col in t.compared:
            assert col.legacy in tables[t.legacy], f"{t.legacy}.{col.legacy}"


@pytest.mark.skipif(not SHARED_SCHEMA.exists(), reason="the shared design folder is not on this machine")
def test_the_shipped_schema_is_the_shared_one():
    assert legacy.schema_sql() == SHARED_SCHEMA.read_text()


def test_a_legacy_database_matches_the_expected_schema(legacy_db):
    report = inspect_database(legacy_db.engine(), schema="public")
    assert report.missing_tables == ()
    assert report.missing_columns == {}
    assert report.phase1 == "not started"
    for t in mapping.TABLES:
        existing = report.table(t.legacy)
        assert existing.exists and existing.rows == SEED_ROWS[t.legacy]
        assert existing.extra == () and existing.type_differences == ()
        assert existing.columns == legacy.expected_tables()[t.legacy]
        assert report.table(t.staging).exists is False
    frame = report.tables_frame()
    assert frame.columns[:4] == ["table", "role", "exists", "rows"]
    assert frame.filter(pl.col("role") == "existing")["rows"].to_list() == [SEED_ROWS[t.legacy] for t in mapping.TABLES]
    columns = report.columns_frame()
    legacy_columns = columns.filter(pl.col("table").is_in([t.legacy for t in mapping.TABLES]))
    assert set(legacy_columns["status"]) == {"ok", "phase 1, not yet added"}
    assert legacy_columns.filter(pl.col("status") == "ok").height == sum(len(c) for c in legacy.expected_tables().values())


def test_drift_is_reported(legacy_db):
    with legacy_db.connect(autocommit=True) as conn:
        conn.execute("ALTER TABLE customers DROP COLUMN street_address")
        conn.execute("ALTER TABLE customers ADD COLUMN loyalty_tier text")
        conn.execute("ALTER TABLE transaction_items ALTER COLUMN quantity TYPE numeric(10, 3)")
        conn.execute("DROP TABLE products")
    report = inspect_database(legacy_db.engine())
    assert report.missing_tables == ("products",)
    assert report.missing_columns == {"customers": ("street_address",)}
    assert report.table("customers").extra == ("loyalty_tier",)
    assert report.table("transaction_items").type_differences == (("quantity", "integer", "numeric(10,3)"),)
    statuses = dict(
        report.columns_frame().filter(pl.col("table") == "customers").select("column", "status").iter_rows()
    )
    assert statuses["street_address"] == "missing" and statuses["loyalty_tier"] == "extra"


def test_phase1_progress_is_recognised(legacy_db):
    with legacy_db.connect(autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE customers_blaze_staging (member_id text PRIMARY KEY, name text)"
        )
    partial = inspect_database(legacy_db.engine())
    assert partial.phase1 == "partial"
    assert partial.table("customers_blaze_staging").missing[:2] == ("phone", "email")

    with legacy_db.connect(autocommit=True) as conn:
        conn.execute("DROP TABLE customers_blaze_staging")
        phase1.apply(conn)
        conn.execute("INSERT INTO products_blaze_staging (product_id) VALUES ('p-1'), ('p-9')")
    done = inspect_database(legacy_db.engine())
    assert done.phase1 == "complete"
    assert all(done.views.values())
    products = done.table("products")
    assert "image_url" not in products.phase1_present  # it was in the legacy schema already
    assert set(products.phase1_present) == {n.name for n in mapping.PRODUCTS.new_columns} - {"image_url"}
    assert set(products.added_by_workbook) == set(products.phase1_present)
    assert products.extra == ()
    assert done.table("products_blaze_staging").rows == 2
    assert done.table("customers_blaze_staging").missing == ()


def test_an_empty_database_lacks_everything(empty_db):
    report = inspect_database(empty_db.engine())
    assert report.missing_tables == tuple(t.legacy for t in mapping.TABLES)
    assert report.phase1 == "not started"
    assert report.tables_frame()["exists"].to_list() == [False] * 8


def test_a_missing_schema_is_a_clear_error(legacy_db):
    with pytest.raises(DatabaseError, match="schema 'shop' does not exist"):
        inspect_database(legacy_db.engine(), schema="shop")


def test_an_unreachable_server_is_a_clear_error():
    with pytest.raises(DatabaseError, match="cannot reach Postgres at shop@127.0.0.1:1/shop"):
        inspect_database(postgres.engine("postgresql://shop:pw-1234@127.0.0.1:1/shop"))


def test_counts_can_use_the_callers_connection(legacy_db):
    with legacy_db.connect() as conn:
        report = inspect_database(legacy_db.engine(), conn)
        assert report.table("customers").rows == SEED_ROWS["customers"]
        assert row_counts(conn, ["products"]) == {"products": 3}
        assert conn.info.transaction_status.name == "IDLE"  # nothing left open for apply()
