"""The legacy generator: tables, report CSVs, injections, manifest and its agreement with the compare."""

from __future__ import annotations

import datetime as dt
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
import pytest

from blaze_workbook.blaze.simulator.dataset import Dataset
from blaze_workbook.errors import ConfigurationError
from blaze_workbook.legacy_gen import (
    PLAN_CUSTOMERS,
    PLAN_ITEMS,
    PLAN_TRANSACTIONS,
    REPORTS,
    Injections,
    Manifest,
    generate_legacy,
    staging_frames,
    targets,
)
from blaze_workbook.legacy_gen.discrepancies import item_keys
from blaze_workbook.setup_sql import MetricsRules

TABLES = ("customers", "transactions", "transaction_items", "products")
KEY = {"customers": "member_id", "transactions": "transaction_id", "products": "product_id"}


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    return Dataset.generate("tiny", 0)


def _frame(conn: psycopg.Connection, query: str) -> pl.DataFrame:
    with conn.cursor() as cur:
        cur.execute(query)
        names = [d.name for d in cur.description]
        return pl.DataFrame(cur.fetchall(), schema=names, orient="row", infer_schema_length=None)


def _generate(db, tmp_path: Path, ds: Dataset, name: str = "out", **kw) -> Manifest:
    return generate_legacy(db.conninfo, scale=ds.scale, seed=ds.seed, out_dir=tmp_path / name, dataset=ds, **kw)


@pytest.fixture()
def made(empty_db, tmp_path, tiny) -> tuple[Manifest, object]:
    return _generate(empty_db, tmp_path, tiny), empty_db


# --- tables, CSVs, COPY ------------------------------------------------------------------------


def test_tables_created_and_filled_as_the_manifest_says(made):
    manifest, db = made
    with db.connect() as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    assert all(n > 0 for n in rows.values())
    assert rows == manifest.loaded == {t: manifest.tables[t]["rows_existing"] for t in TABLES}
    assert manifest.meta["reconciliation"] == {"unexplained": 0, "unrealised": 0, "booked_twice": 0}
    assert manifest.rows.filter(pl.col("cause") == "unexplained").height == 0


def test_report_csvs_written_then_loaded_with_copy(empty_db, tmp_path, tiny, monkeypatch):
    statements: list[str] = []
    original = psycopg.Cursor.copy

    def spy(self, statement, *args, **kwargs):
        statements.append(statement.as_string(self.connection) if hasattr(statement, "as_string") else str(statement))
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    manifest = _generate(empty_db, tmp_path, tiny)
    for table, spec in REPORTS.items():
        path = tmp_path / "out" / f"{table}.csv"
        report = pl.read_csv(path, infer_schema=False)
        assert report.columns == [header for _, header, _ in spec]
        assert report.height == manifest.loaded[table]
        assert any(s.startswith("COPY") and f'"{table}"' in s and "FROM STDIN" in s for s in statements), table
    customers = pl.read_csv(tmp_path / "out" / "customers.csv", infer_schema=False)
    assert customers["Date Joined"].drop_nulls().str.contains(r"^\d\d/\d\d/\d{4}$").all()  # as the report printed it
    tx = pl.read_csv(tmp_path / "out" / "transactions.csv", infer_schema=False)
    assert tx["Date"].str.contains(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}-0[78]:00$").all()


def test_report_values_round_trip_exactly(made, tiny):
    """Instants, names and quantities in Postgres are what the reports meant."""
    manifest, db = made
    truth = tiny.truth()
    with db.connect() as conn:
        tx = _frame(conn, "SELECT transaction_id, date, shop_location, staff_name, total_tax FROM transactions")
        items = _frame(conn, "SELECT quantity FROM transaction_items")
    t = truth["transactions"].select(
        pl.col("id").alias("transaction_id"), pl.coalesce("completedTime", "endTime").alias("ms"), pl.col("cart.totalCalcTax").alias("tax")
    )
    both = tx.join(t, on="transaction_id")
    assert both.height == tx.height
    assert (both["date"].dt.epoch("ms") == both["ms"]).all()
    assert (both["total_tax"] == both["tax"]).all()
    assert set(both["shop_location"]) == {truth["shop"]["name"][0]}
    assert items["quantity"].dtype == pl.Int64


# --- manifest ----------------------------------------------------------------------------------


def test_every_manifest_row_names_an_existing_key(made, tiny):
    manifest, db = made
    stage = staging_frames(tiny.truth(), tiny.tz)
    legacy_keys, blaze_keys = {}, {}
    with db.connect() as conn:
        for t, key in KEY.items():
            legacy_keys[t] = set(_frame(conn, f"SELECT {key} FROM {t}")[key])
            blaze_keys[t] = set(stage[t][key])
        items = _frame(conn, "SELECT transaction_id, product_id FROM transaction_items ORDER BY id")
    legacy_keys["transaction_items"] = set(item_keys(items))
    blaze_keys["transaction_items"] = set(item_keys(stage["transaction_items"]))
    rows = manifest.rows
    assert set(rows["table"]) <= set(TABLES)
    assert set(rows["kind"]) <= {"format_only", "real", "missing_in_blaze", "missing_in_existing", "only_existing", "only_blaze", "orphan"}
    for r in rows.select("table", "key", "kind").iter_rows(named=True):
        side = blaze_keys if r["kind"] == "only_blaze" else legacy_keys
        assert r["key"] in side[r["table"]], r
        if r["kind"] not in ("only_blaze", "only_existing"):
            assert r["key"] in blaze_keys[r["table"]] or r["kind"] == "orphan", r


def test_injected_counts_equal_the_requested(made):
    manifest, _ = made
    assert manifest.injected_counts() == manifest.requested
    assert all(n > 0 for n in manifest.requested.values())
    causes = {(r["table"], r["field"], r["kind"], r["cause"]) for r in manifest.causes().iter_rows(named=True)}
    assert ("customers", "phone", "format_only", "phone_reformatted") in causes
    assert ("customers", "street_address", "missing_in_blaze", "street_filled") in causes
    assert ("customers", "email", "missing_in_existing", "email_blanked") in causes
    assert ("transactions", "total_amount", "real", "total_amount_typo") in causes
    assert ("transactions", "customer_id", "orphan", "orphan_members") in causes
    assert ("transaction_items", "quantity", "real", "quantity_rounded") in causes
    assert ("transaction_items", None, "only_existing", "null_product_id") in causes
    assert ("customers", None, "only_blaze", "joined_after_export") in causes


def test_counts_override_injections_and_rows(empty_db, tmp_path, tiny):
    asked = {"phone_changed": 7, "email_blanked": 3, "null_product_id": 4, "transactions": 1_000, "transaction_items": 500}
    manifest = _generate(empty_db, tmp_path, tiny, counts=asked)
    got = manifest.injected_counts()
    assert {k: got[k] for k in ("phone_changed", "email_blanked", "null_product_id")} == {"phone_changed": 7, "email_blanked": 3, "null_product_id": 4}
    assert manifest.loaded["transactions"] == 1_000 and manifest.loaded["transaction_items"] == 500
    with pytest.raises(ConfigurationError, match="unknown count name"):
        targets("tiny", {"phones": 3})


def test_same_seed_same_manifest_and_csvs(pg, tmp_path, tiny):
    a_db, b_db = pg.new_database("empty"), pg.new_database("empty")
    try:
        a = _generate(a_db, tmp_path, tiny, "a")
        b = _generate(b_db, tmp_path, tiny, "b")
    finally:
        pg.drop_database(a_db.name)
        pg.drop_database(b_db.name)
    strip = lambda m: {**m.to_dict(), "meta": {k: v for k, v in m.meta.items() if k != "seconds"}}  # noqa: E731
    assert strip(a) == strip(b)
    assert a.rows.equals(b.rows)
    for table in TABLES:
        assert (tmp_path / "a" / f"{table}.csv").read_bytes() == (tmp_path / "b" / f"{table}.csv").read_bytes()
    again = Manifest.read(tmp_path / "a")
    assert again.tables == a.tables and again.rows.equals(a.rows) and again.requested == a.requested


def test_other_seed_other_choices(empty_db, tmp_path, tiny):
    first = _generate(empty_db, tmp_path, tiny, "first")
    other = Dataset.generate("tiny", 1)
    second = generate_legacy(empty_db.conninfo, scale="tiny", seed=1, out_dir=tmp_path / "second", dataset=other, replace=True)
    assert set(first.rows["key"]) != set(second.rows["key"])


def test_refuses_a_database_with_rows_unless_replace(legacy_db, tmp_path, tiny):
    with pytest.raises(ConfigurationError, match="already hold rows"):
        _generate(legacy_db, tmp_path, tiny)
    manifest = _generate(legacy_db, tmp_path, tiny, replace=True)
    with legacy_db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE member_id LIKE 'm-%'").fetchone()[0] == 0
        assert conn.execute("SELECT min(id) FROM customers").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == manifest.loaded["customers"]


def test_export_date_moves_the_cut(empty_db, tmp_path, tiny):
    day = dt.date(2026, 6, 1)
    manifest = _generate(empty_db, tmp_path, tiny, export_date=day)
    assert manifest.export_date == day
    with empty_db.connect() as conn:
        latest = conn.execute("SELECT max(date) FROM transactions").fetchone()[0]
    assert latest < dt.datetime(2026, 6, 1, tzinfo=ZoneInfo(tiny.tz))
    with pytest.raises(ConfigurationError, match="before the simulator's day"):
        _generate(empty_db, tmp_path, tiny, name="late", export_date=dt.date(2027, 1, 1), replace=True)


# --- derived fields, by hand -------------------------------------------------------------------


def _by_hand(member: str, tx: list[dict], export_day: dt.date, tz: ZoneInfo) -> dict:
    """CONTRACTS.md §3, written out with the standard library for one member."""
    sales = [t for t in tx if t["transType"] == "Sale" and t["status"] == "Completed" and t["memberId"] == member]
    refunds = [t for t in tx if (t["transType"] == "Refund" or t["status"].startswith("Refund")) and t["memberId"] == member]
    days = {dt.datetime.fromtimestamp(t["completedTime"] / 1000, tz).date() for t in sales}
    gross = sum((t["cart.total"] for t in sales), Decimal(0))
    refunded = sum((abs(t["cart.total"]) for t in refunds), Decimal(0))
    last = max(days) if days else None
    since = (export_day - last).days if last else None
    visits = len(days)
    return {
        "total_visits": visits, "total_sales": len(sales), "total_refunds": len(refunds),
        "gross_sales": gross, "gross_refunds": refunded, "lifetime_value": gross - refunded,
        "avg_sale_value": (gross / len(sales)).quantize(Decimal("0.01"), ROUND_HALF_UP) if sales else None,
        "last_visited": last, "days_since_last_visit": since,
        "vip_status": "VIP" if visits >= 16 else "Regular" if visits >= 6 else "Casual" if visits >= 2 else "New",
        "churn_risk": None if since is None else "High" if since > 60 else "Medium" if since >= 30 else "Low",
    }  # fmt: skip


def test_derived_fields_follow_the_contract_for_hand_picked_customers(made, tiny):
    manifest, db = made
    tz = ZoneInfo(tiny.tz)
    truth = tiny.truth()["transactions"]
    with db.connect() as conn:
        legacy_tx = _frame(conn, "SELECT transaction_id, customer_id FROM transactions")
        customers = _frame(conn, "SELECT * FROM customers ORDER BY total_visits DESC, member_id")
    view = legacy_tx.join(truth.drop("memberId"), left_on="transaction_id", right_on="id").rename({"customer_id": "memberId"})
    rows = view.to_dicts()
    refunders = set(view.filter(pl.col("transType") == "Refund")["memberId"])
    picks = pl.concat([
        customers.head(1),  # the most frequent visitor
        customers.filter(pl.col("total_visits") == 0).head(1),  # never bought before the export
        customers.filter(pl.col("member_id").is_in(list(refunders))).head(1),  # has a refund
        customers.filter(pl.col("total_visits").is_between(2, 5)).head(1),
    ])
    assert picks.height == 4
    for row in picks.iter_rows(named=True):
        expected = _by_hand(row["member_id"], rows, manifest.export_date, tz)
        got = {k: row[k] for k in expected}
        assert got == expected, row["member_id"]


# --- agreement with the compare ----------------------------------------------------------------


def test_the_compare_finds_exactly_the_manifest(made, tiny):
    from blaze_workbook import compare

    manifest, db = made
    with db.connect() as conn:
        existing = compare.existing_from_postgres(conn)
    result = compare.compare(existing, staging_frames(tiny.truth(), tiny.tz), as_of=manifest.as_of, metrics=MetricsRules(timezone=tiny.tz))
    got = result.summary()
    assert {t: {k: v for k, v in got["tables"][t].items() if k in ("rows_existing", "rows_blaze", "matched", "only_existing", "only_blaze", "fields")} for t in TABLES} == manifest.expected_summary()["tables"]
    for t in TABLES:
        for extra in ("orphans", "null_keys", "duplicates"):
            assert got["tables"][t][extra] == manifest.tables[t][extra], (t, extra)
    found = result.discrepancies.select("table", "key", "field", pl.col("kind").cast(pl.String)).sort(pl.all())
    listed = manifest.rows.filter(pl.col("field").is_not_null() & (pl.col("kind") != "orphan")).select("table", "key", "field", "kind").sort(pl.all())
    assert found.equals(listed)


# --- sizes -------------------------------------------------------------------------------------


def test_targets_scale_from_the_plan():
    seed = targets("seed")
    assert (seed.customers, seed.transactions, seed.transaction_items) == (PLAN_CUSTOMERS, PLAN_TRANSACTIONS, PLAN_ITEMS)
    assert seed.strict == {"customers", "transactions", "transaction_items"}
    tiny = targets("tiny")
    assert not tiny.strict and tiny.customers == round(PLAN_CUSTOMERS * 300 / 10_500)
    assert seed.injections(PLAN_CUSTOMERS, PLAN_TRANSACTIONS, PLAN_ITEMS) == Injections()
    small = seed.injections(100, 1_000, 500)
    assert small.phone_reformatted == round(4_000 * 100 / PLAN_CUSTOMERS) and small.email_blanked == 1
    assert targets("tiny", {"customers": 50}).strict == {"customers"}


@pytest.mark.slow
def test_seed_preset_gives_the_plan_counts(empty_db, tmp_path):
    """10,047 / 186,394 / 114,136 at the seed preset (197,500 Blaze transactions over 4.5 years)."""
    started = time.perf_counter()
    manifest = generate_legacy(empty_db.conninfo, scale="seed", seed=0, out_dir=tmp_path / "seed")
    seconds = time.perf_counter() - started
    with empty_db.connect() as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    assert (rows["customers"], rows["transactions"], rows["transaction_items"]) == (PLAN_CUSTOMERS, PLAN_TRANSACTIONS, PLAN_ITEMS)
    assert manifest.injected_counts() == manifest.requested == Injections().as_dict()
    assert manifest.meta["reconciliation"] == {"unexplained": 0, "unrealised": 0, "booked_twice": 0}
    print(f"seed legacy generation: {seconds:.1f} s; {manifest.meta['seconds']}")


# --- the Blaze side is what a sync stores ------------------------------------------------------


def _synced(ds: Dataset) -> dict[str, pl.DataFrame]:
    """Every page the simulator serves, decoded by the sync's own decoder (no HTTP)."""
    import orjson

    from blaze_workbook.blaze.simulator.dataset import Query
    from blaze_workbook.mapping import TABLES as MAPPED
    from blaze_workbook.sync import LOOKUP_ENTITIES, decode_page

    def pages(entity: str) -> list[bytes]:
        out, skip = [], 0
        while True:
            page = ds.page(entity, Query(skip=skip, limit=100, include_deleted=True))
            out.append(orjson.dumps({"values": page.records, "skip": skip, "limit": 100, "total": page.total}))
            skip += 100
            if skip >= page.total or entity == "categories":
                return out

    lookups: dict[str, pl.DataFrame] = {"shop": decode_page("store", orjson.dumps(ds.store()), timezone=ds.tz).frames["shop"]}
    for entity, name in LOOKUP_ENTITIES.items():
        if entity != "store":
            lookups[name] = pl.concat([decode_page(entity, body, timezone=ds.tz).frames[name] for body in pages(entity)])
    frames: dict[str, list[pl.DataFrame]] = {}
    for entity in ("members", "transactions", "products_modified"):
        for body in pages(entity):
            decoded = decode_page(entity.removesuffix("_modified"), body, timezone=ds.tz, lookups=lookups)
            for name, frame in decoded.frames.items():
                frames.setdefault(name, []).append(frame)
    return {t.legacy: pl.concat(frames[t.staging]) for t in MAPPED}


def test_the_blaze_side_is_what_the_sync_stores(tiny):
    from blaze_workbook.mapping import TABLES as MAPPED

    synced = _synced(tiny)
    ours = staging_frames(tiny.truth(), tiny.tz)
    for t in MAPPED:
        # what the compare reads: keys, compared columns, and what the derived fields come from
        columns = [c.name for c in t.columns if c.legacy is not None or c.name in (t.key, "blaze_status", "trans_type")]
        a, b = synced[t.legacy].select(columns), ours[t.legacy].select(columns)
        assert a.height == b.height, t.legacy
        both = a.join(b, on=t.key, suffix="_ours")
        assert both.height == a.height, t.legacy
        for c in columns:
            if c == t.key:
                continue
            x, y = pl.col(c), pl.col(f"{c}_ours").cast(both.schema[c])
            blank = lambda e: e.is_null() | ((e.cast(pl.String) == "") if both.schema[c] == pl.String else pl.lit(False))  # noqa: E731
            differ = both.filter(~((blank(x) & blank(y)) | (x == y).fill_null(False)))
            assert differ.height == 0, (t.legacy, c, differ.select(t.key, c, f"{c}_ours").head(3).to_dicts())
