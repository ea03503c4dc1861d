"""``blaze-workbook status``: runs from run.json, figures from the warehouse when it exists."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from blaze_workbook.runner.status import (
    ApiUsage,
    as_utc,
    collect_status,
    project_month,
    usage_from_events,
)

from .conftest import invoke, make_app

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)


def _write_run(home: Path, folder: str, **record) -> None:
    path = home / "reports" / folder
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps(record))


@pytest.mark.parametrize(
    ("projected", "tier"),
    [(0, "250,000 calls ($100/month)"), (250_000, "250,000 calls ($100/month)"),
     (250_001, "1,500,000 calls ($250/month)"), (9_999_999, "10,000,000 calls ($500/month)"),
     (10_000_001, "over 10,000,000 calls: $500/month plus overage")],
)
def test_tiers(projected: int, tier: str):
    assert ApiUsage(0, 0, 0, projected, "test").tier == tier


def test_usage_windows_and_projection():
    events = [
        (NOW - dt.timedelta(minutes=2), 100),  # in the 5-minute window
        (NOW - dt.timedelta(hours=3), 50),  # today
        (NOW - dt.timedelta(days=3), 1000),  # this month
        (NOW - dt.timedelta(days=20), 7),  # last month
        (NOW + dt.timedelta(minutes=1), 99),  # future: ignored
    ]
    usage = usage_from_events(events, NOW, "test")
    assert (usage.window_5min, usage.today, usage.month) == (100, 150, 1150)
    assert usage.projected_month == project_month(1150, NOW) == round(1150 * 30 / 14.5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1_700_000_000_000, dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)),
     (1_700_000_000, dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)),
     ("2026-11-29T10:00:00.000Z", dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC)),
     (dt.date(2026, 1, 2), dt.datetime(2026, 1, 2, tzinfo=dt.UTC)), ("garbage", None), (None, None)],
)
def test_as_utc(value, expected):
    assert as_utc(value) == expected


def test_status_on_a_fresh_home_says_what_is_missing(tmp_path: Path):
    report = collect_status(tmp_path, now=NOW)
    assert report.last_runs == {"setup": None, "sync": None, "compare": None, "cutover": None}
    assert report.api is not None and report.api.month == 0
    assert any("no warehouse yet" in note for note in report.notes)


def test_status_reads_runs_and_warehouse(tmp_path: Path):
    _write_run(tmp_path, "a-sync", notebook="sync", status="ok", start="2026-11-15T11:58:00.000Z", duration_s=30,
               key_figures={"api_calls": 40})
    _write_run(tmp_path, "b-sync", notebook="sync", status="failed", start="2026-11-15T10:00:00.000Z")
    _write_run(tmp_path, "c-compare", notebook="compare", status="ok", start="2026-11-14T10:00:00.000Z")
    report = collect_status(tmp_path, now=NOW)
    assert report.last_runs["sync"]["folder"] == "a-sync" and report.last_runs["setup"] is None
    assert report.api.source.startswith("run records") and report.api.window_5min == 40

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    now_ms = int(NOW.timestamp() * 1000)
    con.execute("CREATE TABLE state (entity VARCHAR, watermark_ms BIGINT)")
    con.execute("INSERT INTO state VALUES ('members', ?), ('transactions', ?)",
                [now_ms - 3_600_000, now_ms - 2 * 86_400_000])
    con.execute("CREATE TABLE api_calls (called_at TIMESTAMPTZ, calls INTEGER)")
    con.execute("INSERT INTO api_calls VALUES (?, 7), (?, 5), (?, 11)",
                [NOW - dt.timedelta(minutes=1), NOW - dt.timedelta(hours=1), NOW - dt.timedelta(days=40)])
    con.execute("CREATE TABLE customers_blaze_staging AS SELECT range AS id FROM range(12)")
    con.execute("CREATE TABLE quarantine (entity VARCHAR, reason VARCHAR)")
    con.execute("INSERT INTO quarantine VALUES ('members', 'no id'), ('members', 'no id'), ('products', 'drift')")
    con.close()

    report = collect_status(tmp_path, now=NOW)
    assert report.watermarks == [("members", "2026-11-15T11:00:00+00:00", "1h 0m"),
                                 ("transactions", "2026-11-13T12:00:00+00:00", "2d 0h")]
    assert (report.api.window_5min, report.api.today, report.api.month) == (7, 12, 12)
    assert report.api.source == "warehouse table api_calls"
    assert report.staging == [("customers_blaze_staging", 12)]
    assert report.quarantine == [("members", "no id", 2), ("products", "drift", 1)]


def test_status_survives_a_warehouse_it_cannot_read(tmp_path: Path):
    (tmp_path / "warehouse.duckdb").write_bytes(b"not a duckdb file at all" * 100)
    report = collect_status(tmp_path, now=NOW)
    assert any("warehouse not readable" in note for note in report.notes)


def test_status_command_prints_tables(tmp_path: Path):
    _write_run(tmp_path, "a-sync", notebook="sync", status="ok", start="2026-11-15T11:58:00.000Z", duration_s=30,
               key_figures={"api_calls": 40})
    run = invoke(make_app(), ["status"], {"BLAZE_WORKBOOK_HOME": str(tmp_path), "COLUMNS": "200"})
    assert run.exit_code == 0, run.stderr
    for text in ("Last run of each notebook", "sync", "never", "API calls", "projected this month",
                 "250,000 $100", "no warehouse yet"):
        assert text in run.stdout, text
