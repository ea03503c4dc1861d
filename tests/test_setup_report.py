"""The 01_setup report's pieces: first batch (decoded, masked), quarantine, the plan's questions."""

from __future__ import annotations

import json

import polars as pl
import pytest

from blaze_workbook import phase1, probe, setup_report
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.introspect import inspect_database


@pytest.fixture(scope="module")
def probed(sim) -> probe.ProbeResult:
    settings = BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY)
    with probe.probe_client(settings) as client:
        return probe.run_probe(client, settings, probe_limit=100)


@pytest.fixture(scope="module")
def batch(probed) -> setup_report.FirstBatch:
    return setup_report.first_batch(probed)


def _bare(bodies: dict[str, bytes]) -> probe.ProbeResult:
    return probe.ProbeResult((), {}, "UTC", "parameter", 0, 100, bodies)


def test_first_batch_is_decoded_with_the_lookups(batch):
    summary = {r["staging_table"]: r for r in batch.summary().to_dicts()}
    assert summary["customers_blaze_staging"]["stored"] == 100
    assert summary["customers_blaze_staging"]["available"] == 300
    assert summary["transactions_blaze_staging"]["stored"] == summary["transactions_blaze_staging"]["received"] > 0
    assert summary["transaction_items_blaze_staging"]["stored"] > 0
    assert sum(r["quarantined"] for r in summary.values()) == 0
    assert set(batch.lookups) == {"shop", "employees", "terminals", "vendors", "categories", "brands"}
    named = {(r["staging_table"], r["column"]): r["share"] for r in batch.resolution().to_dicts()}
    assert named[("transactions_blaze_staging", "staff_name")] == 1.0
    assert named[("transactions_blaze_staging", "shop_location")] == 1.0
    assert named[("products_blaze_staging", "vendor_name")] == 1.0
    assert batch.timezone == "America/Los_Angeles"


def test_shown_rows_are_masked(batch):
    raw = batch.frame("customers")
    shown = batch.masked("customers", rows=None)
    assert shown.height == raw.height == 100
    assert list(shown.columns) == list(setup_report.SHOWN["customers_blaze_staging"])
    for column in ("name", "phone", "email", "street_address"):
        values = {v for v in raw[column].to_list() if v}
        assert values, column
        assert not values & set(shown[column].to_list()), column
    staff = set(batch.frame("transactions")["staff_name"].to_list())
    assert not staff & set(batch.masked("transactions", rows=None)["staff_name"].to_list())
    assert batch.masked("products").height == 10


def test_records_that_fail_to_map_are_listed_by_reason_only():
    page = {"values": [
        {"id": "m-ok", "modified": 1_700_000_000_000, "firstName": "Ann", "lastName": "Lee"},
        {"firstName": "No", "lastName": "Id", "modified": 1_700_000_000_000, "primaryPhone": "(555) 867-5309"},
        {"id": "m-bad", "modified": 1_700_000_000_000, "loyaltyPoints": "call 555-867-5309"},
    ], "skip": 0, "limit": 100, "total": 3}
    batch = setup_report.first_batch(_bare({"members": json.dumps(page).encode()}))
    quarantine = batch.quarantine()
    assert quarantine.columns == ["entity", "record_id", "reason"]
    assert quarantine.height == 2
    assert quarantine["reason"].to_list() == [
        "record has no id",
        "customers.loyalty_points: expected a number, got the string '…'",  # the value is cut
    ]
    assert "555" not in str(quarantine.to_dicts())  # payloads are never shown
    summary = batch.summary().filter(pl.col("entity") == "members").row(0, named=True)
    assert (summary["received"], summary["stored"], summary["quarantined"]) == (3, 1, 2)
    assert batch.problems == {"transactions": "not fetched (the probe call failed)",
                              "products": "not fetched (the probe call failed)"}


def test_a_page_that_is_not_a_list_is_a_problem_not_a_crash():
    batch = setup_report.first_batch(_bare({"members": b"<html>maintenance</html>"}))
    assert "members" in batch.problems and "members" not in batch.pages
    assert batch.masked("customers").height == 0


def test_destructive_statements():
    script = "-- Nothing is dropped, renamed or updated.\nBEGIN;\nDROP TABLE x;\n  update customers set a = 1;\n" \
             "ALTER TABLE t ADD COLUMN IF NOT EXISTS c text;\nALTER TABLE t DROP COLUMN c;\nCOMMIT;\n"
    assert setup_report.destructive_statements(script) == ["DROP", "update", "ALTER TABLE t DROP"]


def test_plan_questions_and_key_figures(probed, batch, legacy_db):
    schema = inspect_database(legacy_db.engine())
    with legacy_db.connect() as conn:
        plan = phase1.plan(conn)
    questions = setup_report.plan_questions(probed, batch, schema, plan)
    assert questions.columns == ["question", "answer", "evidence"]
    assert questions["question"].to_list() == [
        "Do vendor/category lookup endpoints exist?",
        "Do staff lookup endpoints exist?",
        "What's the loyalty points endpoint structure?",
        "Should we keep historical CSV data or replace entirely?",
        "What's the rollback plan if data quality issues?",
    ]
    answers = dict(zip(questions["question"], questions["answer"], strict=True))
    evidence = dict(zip(questions["question"], questions["evidence"], strict=True))
    rows = batch.frame("transactions").height
    assert f"transactions named staff_name {rows}/{rows}, shop_location {rows}/{rows}" in answers["Do staff lookup endpoints exist?"]
    assert "products named vendor_name 100/100" in answers["Do vendor/category lookup endpoints exist?"]
    assert "setup.sql has no UPDATE, DELETE, DROP or TRUNCATE" in answers["Should we keep historical CSV data or replace entirely?"]
    assert "existing rows: customers 4, transactions 5" in evidence["Should we keep historical CSV data or replace entirely?"]
    assert "destructive statements: 0" in evidence["What's the rollback plan if data quality issues?"]

    figures = setup_report.key_figures(probed, plan, None, batch, schema)
    assert figures["phase1_status"] == "planned" and figures["objects_created"] == 0
    assert figures["objects_to_create"] == len(plan.changes) > 0
    assert figures["endpoints_ok"] == "12/12" and figures["calls_used"] == probed.calls_used
    assert figures["phase1_state"] == "not started"
    assert "no change" not in setup_report.apply_note(None, plan)
    assert json.loads(json.dumps(setup_report.probe_json(probed, batch, questions), default=str))["plan_questions"]


def test_settings_frame_hides_the_keys(sim, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s3cret-pw@db.example:5432/shop")
    frame = setup_report.settings_frame(BlazeSettings(sim.url, "pk-visible-never", "dk-visible-never"))
    text = str(frame.to_dicts())
    assert "pk-visible-never" not in text and "dk-visible-never" not in text and "s3cret-pw" not in text
    assert "app@db.example:5432/shop" in text
