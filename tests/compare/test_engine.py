"""End to end on small hand-made frames where every expected count is known.

The existing side starts as a copy of the Blaze side (and of the derived values the Blaze
transactions give), then specific cells are changed: each change is one expected count. That
is how a generated legacy database with a manifest of injected discrepancies is checked too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path

import polars as pl
import pytest

from blaze_workbook.compare import compare, from_folder
from blaze_workbook.errors import ConfigurationError, InputDataError
from blaze_workbook.legacy import expected_tables

AS_OF = date(2024, 3, 1)
DEC = pl.Decimal(38, 2)
ALL_KEY_FIELDS = [
    "customers.phone", "customers.email", "customers.name", "transactions.total_amount", "transactions.date",
    "transaction_items.total_price", "products.sku", "products.name",
]  # fmt: skip


def utc(*a) -> datetime:
    return datetime(*a, tzinfo=UTC)


# --- the Blaze side ----------------------------------------------------------------------------

B_CUSTOMERS = pl.DataFrame(
    {
        "member_id": ["m1", "m2", "m3", "m4", "m6"],
        "name": ["Ann Lee", "Rob Ray", "Cy Dee", "Di Fox", "Ed Gray"],
        "phone": ["5550102030", None, "5550102032", "", "5550102036"],
        "email": ["ann@x.com", "bob@x.com", None, "e@x.com", "ed@x.com"],
        "street_address": ["1 Main St"] * 5,
        "city": ["Oakland"] * 5,
        "state": ["CA"] * 5,
        "zip_code": ["94607"] * 5,
        "last_visited": [date(2024, 2, 25), None, None, None, None],  # lastVisitDate: not what is compared
        "loyalty_points": [D("10"), D("0"), D("5"), D("0"), D("0")],
        "customer_type": ["Active", "Active", "Active", "Inactive", "Active"],
        "is_medical": [False] * 5,
        "member_group": ["Default"] * 5,
        "date_joined": [date(2020, 1, 1)] * 5,
        "deleted": [False] * 5,
    },
    schema_overrides={"loyalty_points": DEC},
)
B_TRANSACTIONS = pl.DataFrame(
    {
        "transaction_id": ["t1", "t2", "t3", "t4", "t5", "t6", "t7"],
        "customer_id": ["m1", "m1", "m1", "m2", "m6", "m9", "m3"],
        "date": [utc(2024, 2, 11, 4), utc(2024, 2, 20, 18), utc(2024, 2, 21, 18), utc(2024, 1, 1, 20), utc(2024, 2, 1), utc(2024, 2, 1), utc(2024, 2, 2)],
        "shop_location": ["Main"] * 7,
        "staff_name": ["Pat Doe"] * 7,
        "terminal": ["T1"] * 7,
        "payment_type": ["Cash", "Cash", "Cash", "", "Cash", None, "Cash"],
        "total_amount": [D("100.00"), D("50.00"), D("-20.00"), D("30.00"), D("10.00"), D("5.00"), D("40.00")],
        "total_tax": [D("1.00")] * 7,
        "discounts": [D("0")] * 7,
        "loyalty_points_earned": [D("1")] * 7,
        "loyalty_points_spent": [D("0")] * 7,
        "blaze_status": ["Completed", "Completed", "RefundWithInventory", "Completed", "Completed", "Completed", "Canceled"],
        "trans_type": ["Sale", "Sale", "Refund", "Sale", "Sale", "Sale", "Sale"],
    },
    schema_overrides={c: DEC for c in ("total_amount", "total_tax", "discounts", "loyalty_points_earned", "loyalty_points_spent")},
)
B_ITEMS = pl.DataFrame(
    {
        "item_id": ["i1", "i2", "i3", "i4", "i5", "i6"],
        "transaction_id": ["t1", "t1", "t1", "t2", "t5", "t99"],
        "product_id": ["p1", "p1", "p2", "p1", "p2", "p1"],
        "product_sku": ["S1", "S1", "S2", "S1", "S2", "S1"],
        "product_name": ["Blue", "Blue", "Gum", "Blue", "Gum", "Blue"],
        "brand": ["Acme"] * 6,
        "category": ["Flower"] * 6,
        "quantity": [D("1"), D("2"), D("1.5"), D("1"), D("1"), D("1")],
        "unit_price": [D("10.00")] * 6,
        "total_price": [D("10.00"), D("20.00"), D("15.00"), D("10.00"), D("10.00"), D("10.00")],
    },
    schema_overrides={"quantity": pl.Decimal(38, 4), "unit_price": DEC, "total_price": DEC},
)
B_PRODUCTS = pl.DataFrame(
    {
        "product_id": ["p1", "p2", "p3"],
        "sku": ["SKU-1", "SKU-2", "SKU-3"],
        "name": ["Blue Dream", "Gummies", "Pre-roll"],
        "brand": ["Acme"] * 3,
        "category": ["Flower", "Edible", "Pre-Rolls"],
        "vendor": ["v1"] * 3,
        "retail_price": [D("20.00"), D("15.00"), D("5.00")],
        "is_active": [True, True, True],
        "thc_content": [D("21.5"), None, D("18")],
        "cbd_content": [D("0.1"), None, D("0")],
        "flower_type": ["Hybrid", None, "Indica"],
        "image_url": [None, None, None],
    },
    schema_overrides={"retail_price": DEC, "thc_content": DEC, "cbd_content": DEC, "image_url": pl.String},
)
BLAZE = {"customers": B_CUSTOMERS, "transactions": B_TRANSACTIONS, "transaction_items": B_ITEMS, "products": B_PRODUCTS}

# what the Blaze transactions give, as of 2024-03-01 in Los Angeles (t1 is the local evening of Feb 10)
DERIVED = {
    "m1": dict(total_visits=2, total_sales=2, total_refunds=1, gross_sales=D("150"), gross_refunds=D("20"), lifetime_value=D("130"),
               avg_sale_value=D("75"), last_visited=date(2024, 2, 20), days_since_last_visit=10, vip_status="Casual", churn_risk="Low"),
    "m2": dict(total_visits=1, total_sales=1, total_refunds=0, gross_sales=D("30"), gross_refunds=D("0"), lifetime_value=D("30"),
               avg_sale_value=D("30"), last_visited=date(2024, 1, 1), days_since_last_visit=60, vip_status="New", churn_risk="Medium"),
    "m3": dict(total_visits=0, total_sales=0, total_refunds=0, gross_sales=D("0"), gross_refunds=D("0"), lifetime_value=D("0"),
               avg_sale_value=None, last_visited=None, days_since_last_visit=None, vip_status="New", churn_risk=None),
}  # fmt: skip
DERIVED["m4"] = DERIVED["m3"]
DERIVED["m5"] = DERIVED["m3"]


def legacy_frame(table: str, blaze: pl.DataFrame, key: str, changes: dict[str, dict], extra_rows: list[dict] = (), drop_keys=()) -> pl.DataFrame:
    """The legacy table ``table`` holding Blaze's values (every legacy column), then ``changes``."""
    columns = expected_tables()[table]
    rows = [r for r in blaze.to_dicts() if r[key] not in drop_keys] + list(extra_rows)
    out = []
    for i, r in enumerate(rows, start=1):
        row = {c: r.get(c) for c in columns}
        row["id"] = i
        if table == "customers":
            row.update(DERIVED[r["member_id"]])
        row.update(changes.get(r[key], {}))
        out.append(row)
    types = {"numeric": pl.Decimal(38, 4), "integer": pl.Int64, "text": pl.String, "date": pl.Date, "timestamptz": pl.Datetime("us", "UTC"), "boolean": pl.Boolean}
    return pl.DataFrame(out, schema={c: types[t] for c, t in columns.items()})


def existing_frames() -> dict[str, pl.DataFrame]:
    customers = legacy_frame(
        "customers", B_CUSTOMERS, "member_id",
        {
            "m1": {"name": "ann  LEE", "phone": "+1 (555) 010-2030", "email": " Ann@X.com", "total_visits": 1},
            "m2": {"name": "Bob Ray", "phone": "000-000-0000", "customer_type": "Inactive", "last_visited": date(2023, 12, 1),
                   "lifetime_value": D("30.004"), "churn_risk": "High"},
            "m3": {"phone": None, "email": "", "last_visited": date(2024, 1, 5), "lifetime_value": None},
            "m4": {"phone": "5550102033", "email": "d@x.com", "avg_sale_value": D("0"), "vip_status": "VIP"},
        },
        extra_rows=[{**B_CUSTOMERS.row(0, named=True), "member_id": "m5"}],
        drop_keys=("m6",),
    )  # fmt: skip
    extra_tx = {k: v for k, v in B_TRANSACTIONS.row(0, named=True).items()}
    transactions = legacy_frame(
        "transactions", B_TRANSACTIONS, "transaction_id",
        {
            "t1": {"total_amount": D("100.004")},
            "t2": {"total_amount": D("50.005"), "payment_type": " Cash "},
            "t3": {"total_amount": D("20.00"), "payment_type": None},
            "t4": {"date": utc(2024, 1, 1, 21), "payment_type": "Credit"},
            "t6": {"payment_type": ""},
        },
        extra_rows=[{**extra_tx, "transaction_id": "t8", "customer_id": "m5"}, {**extra_tx, "transaction_id": "t9", "customer_id": "mX"}],
        drop_keys=("t5", "t7"),
    )  # fmt: skip
    item = B_ITEMS.row(0, named=True)
    items = legacy_frame(
        "transaction_items", B_ITEMS.filter(pl.col("item_id").is_in(["i1", "i2", "i3"])), "item_id",
        {"i2": {"total_price": D("20.01")}, "i3": {"quantity": 2}},
        extra_rows=[
            {**item, "item_id": "x3", "total_price": D("5")},  # third t1|p1 line: Blaze has two
            {**item, "item_id": "x5", "transaction_id": "t2", "product_id": None},  # NULL product: never matches
            {**item, "item_id": "x6", "transaction_id": "t8"},
            {**item, "item_id": "x7", "transaction_id": "t77", "product_id": "p3"},  # orphan
        ],
    )  # fmt: skip
    # the legacy rows are in id order: i1, i2, i3, x3, ... so t1|p1 pairs i1-i1, i2-i2 and x3 is left over
    items = items.with_columns(quantity=pl.col("quantity").cast(pl.Int64))
    products = legacy_frame(
        "products", B_PRODUCTS, "product_id",
        {"p1": {"name": " Blue Dream ", "retail_price": D("19.999")}, "p2": {"sku": "sku-2", "is_active": False}},
        extra_rows=[{**B_PRODUCTS.row(0, named=True), "product_id": "p4"}],
        drop_keys=("p3",),
    )  # fmt: skip
    return {"customers": customers, "transactions": transactions, "transaction_items": items, "products": products}


def kinds(result, table: str, field: str) -> dict[str, int]:
    c = result.tables[table].fields[field].as_dict()
    return {k: v for k, v in c.items() if k in ("real", "missing_in_blaze", "missing_in_existing", "format_only") and v}


@pytest.fixture(scope="module")
def result():
    return compare(existing_frames(), BLAZE, as_of=AS_OF, added={"products": ["image_url"]})


def test_table_counts(result):
    got = {name: {k: v for k, v in t.as_dict().items() if k in ("rows_existing", "rows_blaze", "matched", "only_existing", "only_blaze")} for name, t in result.tables.items()}
    assert got == {
        "customers": {"rows_existing": 5, "rows_blaze": 5, "matched": 4, "only_existing": 1, "only_blaze": 1},
        "transactions": {"rows_existing": 7, "rows_blaze": 7, "matched": 5, "only_existing": 2, "only_blaze": 2},
        "transaction_items": {"rows_existing": 7, "rows_blaze": 6, "matched": 3, "only_existing": 4, "only_blaze": 3},
        "products": {"rows_existing": 3, "rows_blaze": 3, "matched": 2, "only_existing": 1, "only_blaze": 1},
    }


def test_fields_cover_every_legacy_column_with_a_blaze_counterpart(result):
    assert list(result.tables["customers"].fields) == [
        "name", "phone", "email", "street_address", "city", "state", "zip_code", "last_visited", "loyalty_points",
        "customer_type", "member_group", "date_joined", "total_visits", "total_sales", "total_refunds", "gross_sales",
        "gross_refunds", "lifetime_value", "avg_sale_value", "days_since_last_visit", "vip_status", "churn_risk",
    ]  # fmt: skip
    assert list(result.tables["transactions"].fields) == [
        "customer_id", "date", "shop_location", "staff_name", "terminal", "payment_type", "total_amount", "total_tax",
        "discounts", "loyalty_points_earned", "loyalty_points_spent",
    ]  # fmt: skip
    assert list(result.tables["transaction_items"].fields) == ["product_sku", "product_name", "brand", "category", "quantity", "unit_price", "total_price"]
    assert list(result.tables["products"].fields) == ["sku", "name", "brand", "category", "vendor", "retail_price", "is_active", "thc_content", "cbd_content", "flower_type"]
    assert result.tables["products"].not_compared == {"image_url": "added by 01_setup: empty on the existing side by construction"}


EXPECTED = {
    ("customers", "name"): {"format_only": 1, "real": 1},
    ("customers", "phone"): {"format_only": 2, "missing_in_existing": 1, "missing_in_blaze": 1},
    ("customers", "email"): {"format_only": 1, "real": 1},
    ("customers", "customer_type"): {"real": 1},
    ("customers", "last_visited"): {"real": 1, "missing_in_blaze": 1},
    ("customers", "total_visits"): {"real": 1},
    ("customers", "lifetime_value"): {"format_only": 1, "missing_in_existing": 1},
    ("customers", "avg_sale_value"): {"missing_in_blaze": 1},
    ("customers", "vip_status"): {"real": 1},
    ("customers", "churn_risk"): {"real": 1},
    ("transactions", "total_amount"): {"format_only": 1, "real": 2},
    ("transactions", "date"): {"real": 1},
    ("transactions", "payment_type"): {"format_only": 1, "missing_in_existing": 1, "missing_in_blaze": 1},
    ("transaction_items", "total_price"): {"real": 1},
    ("transaction_items", "quantity"): {"real": 1},
    ("products", "name"): {"format_only": 1},
    ("products", "retail_price"): {"format_only": 1},
    ("products", "sku"): {"real": 1},
    ("products", "is_active"): {"real": 1},
}


def test_every_field_count_is_the_injected_one(result):
    for name, t in result.tables.items():
        for field in t.fields:
            assert kinds(result, name, field) == EXPECTED.get((name, field), {}), f"{name}.{field}"


def test_kinds_sum_to_compared_and_rates(result):
    for t in result.tables.values():
        for c in t.fields.values():
            assert c.equal + c.format_only + c.real + c.missing_in_blaze + c.missing_in_existing == c.compared == t.matched
            assert c.as_dict()["mismatched"] == c.real + c.missing_in_blaze + c.missing_in_existing
    phone = result.tables["customers"].fields["phone"].as_dict()
    assert phone == {"compared": 4, "mismatched": 2, "rate": 0.5, "real": 0, "missing_in_blaze": 1, "missing_in_existing": 1, "format_only": 2}


def test_integrity_duplicates_null_keys_orphans(result):
    items = result.tables["transaction_items"]
    assert items.duplicates == {"existing": {"keys": 1, "rows": 3}, "blaze": {"keys": 1, "rows": 2}}
    assert items.null_keys == {"existing": 1, "blaze": 0}
    assert items.orphans == {"existing": 1, "blaze": 1}
    assert result.tables["transactions"].orphans == {"existing": 2, "blaze": 1}  # t6 (m9) both sides, t9 (mX) existing
    assert result.tables["customers"].orphans == {"existing": None, "blaze": None}


def test_discrepancy_list_has_every_non_equal_pair(result):
    frame = result.discrepancies
    assert frame.columns == ["table", "key", "field", "existing", "blaze", "existing_norm", "blaze_norm", "kind"]
    total = sum(sum(kinds(result, t, f).values()) for t, tr in result.tables.items() for f in tr.fields)
    assert frame.height == total
    assert frame.filter(kind="equal").height == 0
    row = frame.filter(table="transaction_items", field="total_price").row(0, named=True)
    assert (row["key"], row["existing"], row["blaze"], row["kind"]) == ("t1|p1#2", "20.01", "20", "real")
    row = frame.filter(table="customers", field="phone", key="m1").row(0, named=True)
    assert (row["existing"], row["blaze"], row["existing_norm"], row["blaze_norm"], row["kind"]) == (
        "+1 (555) 010-2030", "5550102030", "5550102030", "5550102030", "format_only",
    )  # fmt: skip
    row = frame.filter(table="transactions", field="date").row(0, named=True)
    assert (row["key"], row["existing"], row["blaze"]) == ("t4", "2024-01-01T21:00:00Z", "2024-01-01T20:00:00Z")


def test_gate(result):
    gate = result.gate
    # name 1/4, phone 2/4, email 1/4, total_amount 2/5, date 1/5, total_price 1/3, sku 1/2 fail; products.name 0/2 passes
    assert gate.failing_fields == tuple(k for k in ALL_KEY_FIELDS if k != "products.name")
    assert not gate.passed
    assert compare(existing_frames(), BLAZE, as_of=AS_OF, key_fields=["products.name"]).gate.passed


def test_summary_shape_is_the_contract(result):
    s = result.summary()
    assert list(s) == ["as_of", "gate", "tables"]
    assert s["as_of"] == "2024-03-01"
    assert list(s["gate"]) == ["threshold", "passed", "failing_fields"]
    assert list(s["tables"]) == ["customers", "transactions", "transaction_items", "products"]
    for t in s["tables"].values():
        assert list(t)[:6] == ["rows_existing", "rows_blaze", "matched", "only_existing", "only_blaze", "fields"]
        for f in t["fields"].values():
            assert list(f) == ["compared", "mismatched", "rate", "real", "missing_in_blaze", "missing_in_existing", "format_only"]


def test_the_same_from_a_folder_of_csv_exports(result, tmp_path: Path):
    """CSV exports hold text: typed by the rules, they give exactly the same counts."""
    for name, frame in existing_frames().items():
        frame.write_csv(tmp_path / f"{name}.csv")
    again = compare(from_folder(tmp_path), BLAZE, as_of=AS_OF, added={"products": ["image_url"]})
    assert again.summary() == result.summary()
    assert again.discrepancies.sort("table", "field", "key").equals(result.discrepancies.sort("table", "field", "key"))


def test_the_same_from_parquet_and_lazy_frames(result, tmp_path: Path):
    for name, frame in existing_frames().items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
    blaze = {f"{name}_blaze_staging": frame.lazy() for name, frame in BLAZE.items()}  # staging names work too
    again = compare(from_folder(tmp_path), blaze, as_of=AS_OF, added={"products": ["image_url"]})
    assert again.summary() == result.summary()


def test_unparseable_text_is_an_input_error(tmp_path: Path):
    frame = existing_frames()["products"].with_columns(pl.col("retail_price").cast(pl.String).fill_null("12,50").replace("20.0000", "n/a"))
    with pytest.raises(InputDataError, match=r"products\.retail_price \(existing\).*n/a"):
        compare({"products": frame.cast(pl.String)}, {"products": B_PRODUCTS}, as_of=AS_OF)


def test_derived_fields_need_blaze_transactions():
    result = compare({"customers": existing_frames()["customers"]}, {"customers": B_CUSTOMERS}, as_of=AS_OF)
    fields = result.tables["customers"].fields
    assert "total_visits" not in fields and "last_visited" not in fields and "phone" in fields
    assert result.tables["customers"].not_compared["lifetime_value"] == "no Blaze transactions given to derive from"


def test_missing_columns_are_reported_not_compared():
    existing = existing_frames()["products"].drop("flower_type")
    result = compare({"products": existing}, {"products": B_PRODUCTS.drop("vendor")}, as_of=AS_OF)
    assert result.tables["products"].not_compared == {
        "vendor": "not a column of the Blaze staging table",
        "flower_type": "not a column of the existing table",
    }
    assert "flower_type" not in result.tables["products"].fields


@pytest.mark.parametrize(
    ("existing", "blaze", "match"),
    [
        ({"products": B_PRODUCTS}, {}, "one side only"),
        ({"products": B_PRODUCTS.drop("product_id")}, {"products": B_PRODUCTS}, "key column"),
        ({"nope": B_PRODUCTS}, {"nope": B_PRODUCTS}, "unknown table"),
    ],
)
def test_configuration_errors(existing, blaze, match):
    with pytest.raises(ConfigurationError, match=match):
        compare(existing, blaze, as_of=AS_OF)


def test_field_rule_overrides():
    existing = existing_frames()["products"]
    result = compare({"products": existing}, {"products": B_PRODUCTS}, as_of=AS_OF, field_rules={"products.sku": "email"})
    assert kinds(result, "products", "sku") == {"format_only": 1}  # 'sku-2' vs 'SKU-2' under a case-blind rule
    assert result.tables["products"].fields["sku"].rule == "email"


def test_empty_inputs():
    empty_e = existing_frames()["products"].clear()
    result = compare({"products": empty_e}, {"products": B_PRODUCTS.clear()}, as_of=AS_OF, key_fields=["products.sku"])
    t = result.tables["products"]
    assert (t.rows_existing, t.rows_blaze, t.matched) == (0, 0, 0)
    assert t.fields["sku"].rate == 0.0 and result.gate.passed
    assert result.discrepancies.height == 0


def test_write_puts_summary_and_masked_discrepancies_in_the_run_folder(result, tmp_path: Path):
    from blaze_workbook.compare import read_summary

    paths = result.write(tmp_path / "run")
    assert read_summary(paths["summary"]) == result.summary()
    written = pl.read_parquet(paths["discrepancies"])
    assert written.height == result.discrepancies.height
    phone = written.filter(table="customers", field="phone", key="m1").row(0, named=True)
    assert phone["existing"] == "+9 (999) 999-9930"
    plain = pl.read_parquet(result.write(tmp_path / "plain", mask_pii=False)["discrepancies"])
    assert plain.equals(result.discrepancies)


def test_report_frames(result):
    fields = result.fields_frame()
    assert fields.height == sum(len(t.fields) for t in result.tables.values())
    assert fields.filter(key_field=True).height == len(ALL_KEY_FIELDS)
    tables = result.tables_frame()
    assert tables["table"].to_list() == ["customers", "transactions", "transaction_items", "products"]
    assert tables.filter(table="transaction_items")["duplicate_rows_existing"].item() == 3


def test_slicing_the_matched_pairs_changes_nothing(result):
    small = compare(existing_frames(), BLAZE, as_of=AS_OF, added={"products": ["image_url"]}, chunk_rows=2)
    assert small.summary() == result.summary()
    order = ["table", "field", "key"]
    assert small.discrepancies.sort(order).equals(result.discrepancies.sort(order))
