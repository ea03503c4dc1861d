"""Apply: the values every step writes, what it never writes, and a second apply."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

from blaze_workbook import cutover

from ._world import rows


def customer(conn, member_id: str, *cols: str) -> tuple:
    return rows(conn, f"SELECT {', '.join(cols)} FROM customers WHERE member_id = %s", member_id)[0]


def test_each_step_writes_the_expected_values(world):
    world.plan()
    result = world.apply()
    assert not result.already_applied and result.rows > 0
    c = world.conn
    # step 1: safe fields
    assert customer(c, "m-1", "name", "email", "phone") == ("Ana Lopez", "ana@example.com", "+15551230001")
    assert customer(c, "m-3", "name") == ("O'Brien",)
    assert customer(c, "m-2", "city") == ("Fresno",)
    assert rows(c, "SELECT name, sku FROM products WHERE product_id = 'p-1'") == [("Blue Dream 3.5 g", "SKU-1")]
    # step 2: new columns
    assert customer(c, "m-1", "is_medical", "text_opt_in", "email_opt_in", "blaze_created") == (
        True, False, True, datetime(2021, 3, 4, 10, tzinfo=timezone.utc),
    )  # fmt: skip
    assert rows(c, "SELECT blaze_status, trans_type FROM transactions WHERE transaction_id = 't-3'") == [("Refunded", "Refund")]
    assert rows(c, "SELECT id, discount, discount_type, tax FROM transaction_items WHERE id IN (1, 2, 5) ORDER BY id") == [
        (1, Decimal("0"), "None", Decimal("3.61")),
        (2, Decimal("5.50"), "Cash", Decimal("7.20")),
        (5, Decimal("0"), None, Decimal("0")),
    ]
    assert rows(c, "SELECT thca, description, unit_value, image_url FROM products WHERE product_id = 'p-1'") == [
        (Decimal("0.5"), "A hybrid", Decimal("3.5"), "https://img/1b.png")
    ]
    # step 3: calculated, with _old backups filled once
    assert customer(c, "m-1", "total_visits", "total_sales", "avg_sale_value", "last_visited", "lifetime_value") == (
        2, 2, Decimal("60.05"), date(2024, 1, 31), Decimal("120.10"),
    )  # fmt: skip
    assert customer(c, "m-1", "total_visits_old", "avg_sale_value_old", "last_visited_old", "lifetime_value_old") == (
        3, Decimal("40.0333333333333333"), date(2024, 2, 1), Decimal("120.10"),
    )  # fmt: skip
    assert customer(c, "m-3", "total_visits", "total_sales", "avg_sale_value", "last_visited") == (1, 1, Decimal("2100.00"), date(2023, 11, 30))
    assert customer(c, "m-2", "total_visits", "lifetime_value", "avg_sale_value", "total_visits_old") == (0, Decimal("0"), None, None)
    assert customer(c, "m-4", "total_visits", "total_visits_old", "last_visited_old") == (0, 0, date(1970, 1, 1))  # not in Blaze: untouched
    # step 4: derived, as of the plan's day
    assert customer(c, "m-1", "days_since_last_visit", "vip_status", "churn_risk", "churn_risk_old", "days_since_last_visit_old") == (
        30, "Casual", "Medium", "High", 300,
    )  # fmt: skip
    assert customer(c, "m-3", "days_since_last_visit", "vip_status", "churn_risk", "vip_status_old") == (92, "New", "High", "VIP")
    assert customer(c, "m-2", "vip_status", "churn_risk", "days_since_last_visit") == ("New", None, None)
    # step 5: corrections (report names kept), insertions
    assert rows(c, "SELECT payment_type, total_tax, staff_name FROM transactions WHERE transaction_id = 't-2'") == [
        ("Credit Card", Decimal("7.2"), "Sam Budtender")
    ]
    assert rows(c, "SELECT quantity, unit_price, total_price FROM transaction_items WHERE id IN (2, 3) ORDER BY id") == [
        (2, Decimal("40.04"), Decimal("80.07")),
        (1, Decimal("15.25"), Decimal("15.25")),  # 1.5 does not fit the integer column: kept
    ]
    assert rows(c, "SELECT name, brand, is_active FROM products WHERE product_id = 'p-2'") == [("Gummies", "Chewy", True)]
    assert rows(c, "SELECT retail_price FROM products WHERE product_id = 'p-1'") == [(Decimal("42.00"),)]
    assert customer(c, "m-5", "name", "total_visits", "gross_sales", "last_visited", "days_since_last_visit", "vip_status", "churn_risk") == (
        "New Person", 1, Decimal("50.00"), date(2024, 2, 28), 2, "New", "Low",
    )  # fmt: skip
    assert rows(c, "SELECT member_id FROM customers WHERE member_id IN ('m-6') ") == []
    assert rows(c, "SELECT transaction_id, customer_id, total_amount FROM transactions WHERE transaction_id IN ('t-6', 't-7')") == [
        ("t-6", "m-5", Decimal("50.00"))
    ]
    assert rows(c, "SELECT transaction_id, product_id, quantity, total_price FROM transaction_items WHERE id > 5 ORDER BY id") == [
        ("t-2", "p-1", 1, Decimal("10.00")),
        ("t-6", "p-1", 1, Decimal("50.00")),
    ]
    assert rows(c, "SELECT sku, name FROM products WHERE product_id = 'p-4'") == [("SKU-4", "Tincture")]


def test_never_null_or_empty_over_a_value(world):
    world.plan()
    world.apply()
    c = world.conn
    assert customer(c, "m-2", "phone", "email") == ("(555) 123-0002", None)  # Blaze NULL phone, '' email
    assert customer(c, "m-3", "phone") == ("555.123.0003",)  # Blaze ''
    assert rows(c, "SELECT image_url FROM products WHERE product_id = 'p-3'") == [("",)]
    assert rows(
        c, "SELECT count(*) FROM cutover_backup WHERE old_value IS NOT NULL AND old_value <> '' AND (new_value IS NULL OR new_value = '')"
    ) == [(0,)]


def test_plan_counts_are_what_apply_changes_and_the_plan_changes_nothing(world):
    plan = world.plan()
    assert world.checksums() == world.before
    assert rows(world.conn, "SELECT to_regclass('cutover_runs')") == [(None,)]
    assert [s.id for s in plan.steps] == ["1_safe_fields", "2_new_columns", "3_calculated", "4_derived", "5_history"]
    data = json.loads((world.tmp / "run" / cutover.PLAN_FILE).read_text())
    assert [s["id"] for s in data["steps"]] == [s.id for s in plan.steps]
    assert {f: (world.tmp / "run" / name).exists() for f, name in cutover.FILES.items()} == dict.fromkeys(cutover.FILES, True)
    result = world.apply()
    changed = {(r.step, r.table): (r.rows, r.cells, r.inserted) for r in result.log}
    planned = {(s.id, t.table): (t.rows, t.cells, t.inserted) for s in plan.steps for t in s.tables}
    assert changed == planned
    assert planned[("1_safe_fields", "customers")] == (3, 4, 0)
    assert planned[("5_history", "transaction_items")][2] == 2
    assert all(r.checksum_before != r.checksum_after for r in result.log if r.rows)


def test_applying_twice_changes_nothing(world):
    world.plan("first")
    world.apply("first")
    after = world.checksums()
    again = world.apply("first")
    assert again.already_applied and again.rows == 0 and world.checksums() == after
    second = world.plan("second")
    assert all(t.rows == t.cells == t.inserted == 0 for s in second.steps for t in s.tables)
    result = world.apply("second")
    assert result.rows == 0 and not result.already_applied
    assert all(r.checksum_before == r.checksum_after for r in result.log)
    assert world.checksums() == after


def test_compare_summary_annotates_the_plan(world):
    summary = {
        "as_of": "2024-03-01",
        "gate": {"threshold": 0.05, "passed": True, "failing_fields": []},
        "tables": {"customers": {"only_blaze": 1, "fields": {"name": {"compared": 3, "mismatched": 2, "rate": 0.66, "real": 1,
                   "missing_in_blaze": 0, "missing_in_existing": 0, "format_only": 1}}}},
    }  # fmt: skip
    (world.tmp / "cmp").mkdir()
    (world.tmp / "cmp" / "compare_summary.json").write_text(json.dumps(summary))
    plan = world.plan(compare_summary=world.tmp / "cmp")
    assert plan.compare_run["as_of"] == "2024-03-01" and plan.compare_run["path"].endswith("compare_summary.json")
    step1 = next(t for t in plan.steps[0].tables if t.table == "customers")
    assert step1.compare["name"]["expected_changes"] == 2
    text = (world.tmp / "run" / "cutover.sql").read_text()
    assert "compare: name 2 mismatched of 3" in text and "compare: 1 records only in Blaze" in text
    assert plan.frame().height == sum(len(s.tables) for s in plan.steps)


def test_chosen_steps_only(world):
    plan = world.plan(steps=[1])
    assert [s.id for s in plan.steps] == ["1_safe_fields"]
    world.apply()
    assert customer(world.conn, "m-1", "name", "is_medical", "total_visits") == ("Ana Lopez", None, 3)
    assert rows(world.conn, "SELECT count(*) FROM information_schema.columns WHERE column_name LIKE '%\\_old'") == [(0,)]
