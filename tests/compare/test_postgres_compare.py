"""The compare against a real Postgres: loaders, and derived.py agreeing with the view.

Uses the session server of ``tests/_fixtures_pg.py`` (``legacy_db``: the legacy schema with a
few rows); 01_setup is applied with :func:`blaze_workbook.phase1.apply`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from blaze_workbook import phase1
from blaze_workbook.compare import compare, derived_metrics, existing_from_postgres, staging_from_postgres
from blaze_workbook.compare.load import read_table
from blaze_workbook.mapping import DERIVED_FIELDS, METRICS_VIEW
from blaze_workbook.setup_sql import MetricsRules

pytestmark = pytest.mark.usefixtures("pg")
TZ = "America/Los_Angeles"


def _today(conn) -> date:
    return conn.execute("SELECT (CURRENT_TIMESTAMP AT TIME ZONE %s)::date", (TZ,)).fetchone()[0]


def _stage_transactions(conn, today: date) -> None:
    """Members a-h and transactions covering every boundary of CONTRACTS.md §3."""
    conn.cursor().executemany("INSERT INTO customers_blaze_staging (member_id, name) VALUES (%s, %s)", [(m, m.upper()) for m in "abcdefgh"])
    rows = []

    def add(member, day_offset, amount, status="Completed", ttype="Sale", hour=20):
        day = today - timedelta(days=day_offset)
        # hour 20 UTC is noon in Los Angeles; hour 4 UTC is the previous local evening
        when = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        rows.append((f"t{len(rows)}", member, when, Decimal(amount), status, ttype))

    for i in range(16):
        add("a", 100 + i, "10.00")  # 16 visits: VIP; last visit 100 days ago: High
    for i in range(15):
        add("b", 61 + i, "10.10")  # 15 visits: Regular; 61 days: High
    add("c", 60, "5.55")
    add("c", 60, "1.00", hour=23)  # same local day
    add("c", 60, "-2.50", status="RefundWithInventory", ttype="Refund")
    add("d", 30, "7.00")
    add("d", 29, "3.00", hour=4)  # UTC day 29 ago at 04:00 is local day 30 ago: 1 visit
    add("e", 29, "9.99")
    add("e", 10, "99.00", status="Canceled")  # not a sale
    add("f", 5, "-4.00", status="RefundWithoutInventory", ttype="Sale")  # refund by status only
    add("zz", 1, "1.00")  # a stranger: no member row
    # g and h: no transactions
    conn.cursor().executemany(
        "INSERT INTO transactions_blaze_staging (transaction_id, customer_id, date, total_amount, blaze_status, trans_type) VALUES (%s, %s, %s, %s, %s, %s)",
        rows,
    )


def test_derived_agrees_with_the_postgres_view(legacy_db):
    with legacy_db.connect() as conn:
        phase1.apply(conn)
        _stage_transactions(conn, _today(conn))
        conn.commit()
        today = _today(conn)
        cat = phase1.catalog(conn, "public")
        view = read_table(conn, "public", METRICS_VIEW, cat[METRICS_VIEW].columns, ["member_id"])
        staged = staging_from_postgres(conn, tables=["customers", "transactions"])
    ours = derived_metrics(staged["customers"], staged["transactions"], as_of=today, rules=MetricsRules(timezone=TZ)).sort("member_id")
    assert view.columns == ours.columns == ["member_id", *DERIVED_FIELDS]
    assert view.height == ours.height == 8
    # averages: Postgres divides to ~20 places, polars to 10; agree to a billionth
    avg = (pl.col("avg_sale_value").cast(pl.Float64) * 1e6).round(0)
    assert view.with_columns(avg).drop("avg_sale_value").equals(ours.with_columns(avg).drop("avg_sale_value"))
    assert view.select(avg).equals(ours.select(avg))
    by_member = {r["member_id"]: r for r in ours.to_dicts()}
    assert (by_member["a"]["vip_status"], by_member["a"]["churn_risk"]) == ("VIP", "High")
    assert (by_member["b"]["vip_status"], by_member["b"]["days_since_last_visit"]) == ("Regular", 61)
    assert (by_member["c"]["total_visits"], by_member["c"]["churn_risk"], by_member["c"]["gross_refunds"]) == (1, "Medium", Decimal("2.50"))
    assert (by_member["d"]["total_visits"], by_member["d"]["days_since_last_visit"], by_member["d"]["churn_risk"]) == (1, 30, "Medium")
    assert (by_member["e"]["total_sales"], by_member["e"]["churn_risk"]) == (1, "Low")
    assert (by_member["f"]["total_refunds"], by_member["f"]["total_sales"]) == (1, 0)
    assert by_member["h"]["churn_risk"] is None and by_member["h"]["total_visits"] == 0


def test_existing_loader_types_values_and_leaves_out_setup_columns(legacy_db):
    with legacy_db.connect() as conn:
        phase1.apply(conn)  # adds image_url to products (absent? no: present) and the other new columns
        frames = existing_from_postgres(conn)
        cat = phase1.catalog(conn, "public")
    assert {k: v.height for k, v in frames.items()} == {"customers": 4, "transactions": 5, "transaction_items": 5, "products": 3}
    for name, frame in frames.items():
        assert not set(frame.columns) & cat[name].added_by_workbook()
    customers = frames["customers"].sort("id")
    assert customers.schema["loyalty_points"] == pl.Decimal(38, 10)
    assert customers.schema["last_visited"] == pl.Date
    assert customers.schema["created_at"] == pl.Datetime("us", "UTC")
    assert customers["email"].to_list() == ["ANA@example.com", None, "ob@example.com", ""]  # '' and NULL stay apart
    assert customers["created_at"][2] == datetime(2019, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert frames["products"]["is_active"].to_list() == [True, False, None]
    assert frames["transactions"].schema["date"] == pl.Datetime("us", "UTC")


def test_compare_of_a_database_against_a_copy_of_itself_is_all_equal(legacy_db):
    """Stage exactly what the existing tables hold: every compared mapped field is equal."""
    with legacy_db.connect() as conn:
        phase1.apply(conn)
        conn.execute(
            "INSERT INTO products_blaze_staging (product_id, sku, name, brand, category, vendor, retail_price, is_active, thc_content, cbd_content, flower_type, image_url) "
            "SELECT product_id, sku, name, brand, category, vendor, retail_price, is_active, thc_content, cbd_content, flower_type, image_url FROM products"
        )
        conn.execute(
            "INSERT INTO transactions_blaze_staging (transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type, total_amount, total_tax, discounts, loyalty_points_earned, loyalty_points_spent) "
            "SELECT transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type, total_amount, total_tax, discounts, loyalty_points_earned, loyalty_points_spent FROM transactions"
        )
        conn.commit()
        existing = existing_from_postgres(conn, tables=["transactions", "products"])
        blaze = staging_from_postgres(conn, tables=["transactions", "products"])
    result = compare(existing, blaze, as_of=date(2024, 3, 1), key_fields=["transactions.total_amount", "transactions.date", "products.sku", "products.name"])
    assert result.gate.passed
    for t in result.tables.values():
        assert t.matched == t.rows_existing == t.rows_blaze
        assert all(c.equal == c.compared for c in t.fields.values()), t.name
    assert "image_url" in result.tables["products"].fields  # it existed before setup
    assert result.discrepancies.height == 0
