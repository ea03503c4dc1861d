"""run_sync end to end: the simulator over 127.0.0.1 -> the DuckDB warehouse -> Postgres staging.

The witness is always the simulator: its truth (mapped to the staging tables by
``_sync_truth``, written from CONTRACTS §3, not from the product's mapping) and its own
statistics (calls, 429s, the busiest window, moves, drift). Ranges are a few weeks of the tiny
preset so the whole file runs in about a minute on a loaded machine.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from _fixtures_sim import tiny_config
from _sync_run import run_sync
from _sync_truth import compare_all, diff, expected, first_day, in_range, local, midnight_ms, pg_rows, warehouse_rows
from blaze_workbook.blaze.client import BlazeClient
from blaze_workbook.blaze.limiter import CallBudget
from blaze_workbook.blaze.metrics import CallMetrics
from blaze_workbook.blaze.retry import RetryPolicy
from blaze_workbook.blaze.simulator import Faults, serve
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.errors import InvestigateError
from blaze_workbook.mapping import TABLES
from blaze_workbook.setup_sql import create_staging
from blaze_workbook.sync import MAIN_ENTITIES, Warehouse
from blaze_workbook.sync.plan import DEFAULT_HISTORY_YEARS

pytestmark = pytest.mark.timeout(300)

TZ = "America/Los_Angeles"
#: fast retries, the simulator's Retry-After still honoured
FAST = {"backoff_initial": 0.01, "backoff_max": 0.1, "jitter": 0.01, "max_attempts": 12, "max_total_wait": 60}


def settings(sim) -> BlazeSettings:
    return BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY)


def fast_client(sim, *, read_timeout: float = 10.0) -> BlazeClient:
    return BlazeClient(settings(sim), policy=RetryPolicy(budget=CallBudget(), **FAST), concurrency=4,
                       connect_timeout=5, read_timeout=read_timeout, metrics=CallMetrics())


def sim_now(sim) -> datetime:
    return datetime.fromtimestamp(sim.dataset.now_ms / 1000, UTC)


def days_back(sim, days: int) -> date:
    """The shop-local day ``days`` before the simulator's now."""
    from zoneinfo import ZoneInfo

    return (sim_now(sim) - timedelta(days=days)).astimezone(ZoneInfo(TZ)).date()


@pytest.fixture(scope="module")
def static_sim():
    """A tiny simulator whose data never changes here (faults are switched on and off by tests)."""
    with serve(tiny_config(seed=3, rate_limit_calls=0)) as sim:
        yield sim


@pytest.fixture()
def quiet(static_sim):
    """The static simulator, its faults reset afterwards."""
    yield static_sim
    static_sim.engine.injector.set(Faults())


@pytest.fixture()
def staging_db(empty_db):
    """A fresh database holding the staging tables 01_setup creates."""
    with empty_db.connect() as conn:
        for t in TABLES:
            conn.execute(create_staging("public", t))
        conn.commit()
    return empty_db


@pytest.fixture()
def wh(tmp_path):
    with Warehouse.open(tmp_path / "warehouse.duckdb") as warehouse:
        yield warehouse


# --------------------------------------------------------------------------- backfill, live, replay


def test_backfill_then_live_incremental_then_replay_equal_the_truth(staging_db, wh):
    with serve(tiny_config(seed=1)) as sim:
        since, now = days_back(sim, 21), sim_now(sim) + timedelta(days=1)
        # the product's default history (five years of weekly windows for members and products), once
        first = run_sync(settings(sim), wh, mode="backfill", since=since, now=now, conninfo=staging_db.conninfo,
                         history_years=DEFAULT_HISTORY_YEARS)
        assert first.ok, str(first)
        served = sim.stats()
        assert first.api.calls == served["calls"] and first.api.rate_limited == served["sent_429"] == 0
        # the entities sync side by side: each counts its own calls, and together they are all of them
        assert sum(e.calls for e in first.entities) == first.api.calls
        assert served["max_calls_in_window"] <= 9_000
        # Postgres staging holds exactly the simulator's records of the range, every column
        assert compare_all(in_range(sim.truth(), since), lambda t: pg_rows(staging_db.conninfo, t)) == {}
        assert {e.entity: e.status for e in first.entities} == {"lookups": "synced", **dict.fromkeys(MAIN_ENTITIES, "synced")}

        events = Counter(e["kind"] for e in sim.step(60))
        assert events["member_edit"] and events["transaction_new"] and events["refund"] and events["price_change"]
        second = run_sync(settings(sim), wh, now=now + timedelta(hours=2), conninfo=staging_db.conninfo)
        assert second.ok, str(second)
        truth = in_range(sim.truth(), since)
        assert compare_all(truth, lambda t: pg_rows(staging_db.conninfo, t)) == {}
        # incremental: one window per entity (plus sales changed by refunds), no full re-read
        assert second.api.calls < 30 and second.entity("transactions").parents >= 1
        assert second.entity("members").counts.updated >= 1 and second.entity("transactions").counts.new >= 1

        before = sim.stats()["calls"]
        replayed = run_sync(None, wh, mode="replay", conninfo=staging_db.conninfo)
        assert sim.stats()["calls"] == before and replayed.api.calls == 0 and replayed.ok
        assert replayed.replay["pages"] == wh.sql("SELECT count(*) AS n FROM raw_pages").item()
        assert compare_all(truth, lambda t: warehouse_rows(wh, t)) == {}
        assert compare_all(truth, lambda t: pg_rows(staging_db.conninfo, t)) == {}
        runs = wh.runs()
        assert runs["status"].to_list() == ["ok", "ok", "ok"] and runs["calls"].to_list() == [first.api.calls, second.api.calls, 0]
        assert json.loads(runs["counts"][0])["records"] == first.records
        assert wh.state("members")["watermark_ms"] <= sim.dataset.now_ms + 60_000


def test_cadence_skips_entities_synced_recently_unless_forced(quiet, wh):
    since, now = days_back(quiet, 7), sim_now(quiet) + timedelta(days=1)
    base = {"entities": ["members", "products", "lookups"], "since": since, "push": False}
    first = run_sync(settings(quiet), wh, now=now, **base)
    assert [e.status for e in first.entities] == ["synced", "synced", "synced"]  # a first run fills

    later = run_sync(settings(quiet), wh, now=now + timedelta(minutes=10), **base)
    members, products = later.entity("members"), later.entity("products")
    assert members.status == "skipped" and members.calls == 0
    assert "next due at" in members.message and (now + timedelta(hours=1)).strftime("%H:%M:%S") in members.message
    assert products.status == "synced"  # every 5 minutes
    assert later.entity("lookups").status == "synced"  # refreshed because products are due

    forced = run_sync(settings(quiet), wh, now=now + timedelta(minutes=10), force=True, **base)
    assert forced.entity("members").status == "synced" and forced.entity("members").calls >= 1

    idle = run_sync(settings(quiet), wh, now=now + timedelta(minutes=11), entities=["members"], push=False)
    assert [e.status for e in idle.entities] == ["skipped"] and idle.api.calls == 0

    # the schedule's products-only run still refreshes the look-ups first
    products_only = run_sync(settings(quiet), wh, now=now + timedelta(minutes=20), entities=["products"], push=False)
    assert [(e.entity, e.status) for e in products_only.entities] == [("lookups", "synced"), ("products", "synced")]


# --------------------------------------------------------------------------- members and products whole


def test_a_backfill_reads_every_member_and_product_however_late_since_is(quiet, wh, tmp_path):
    """A week of history still brings the whole catalogue: with the weekly windows cut at the
    shop's opening (``history_years=0``), what is older comes from the fill's head window. An
    API that holds every listing to 7 days refuses the head: the fill goes on without it and says so."""
    truth, since, now = quiet.truth(), days_back(quiet, 7), sim_now(quiet) + timedelta(days=1)
    opened = midnight_ms(local(int(truth["shop"]["created"][0])))  # the shop-local midnight of its opening day
    older = {name: truth[name].filter(pl.col("modified") < opened)["id"].to_list() for name in ("members", "products")}
    assert older["products"], "the simulator's catalogue is older than its shop: the head has work"
    run = {"mode": "backfill", "entities": ["members", "products"], "since": since, "now": now, "push": False,
           "history_years": 0, "cadence": {"lookups": 0}}
    summary = run_sync(settings(quiet), wh, **run)
    assert summary.ok, str(summary)
    want = expected(truth)
    assert diff(want["customers"], warehouse_rows(wh, "customers")) == {}
    assert diff(want["products"], warehouse_rows(wh, "products")) == {}

    quiet.set_faults(capped_ranges=True)
    with Warehouse.open(tmp_path / "capped.duckdb") as capped:
        refused = run_sync(settings(quiet), capped, **run)
        assert refused.ok, str(refused)
        for entity, table in (("members", "customers"), ("products", "products")):
            assert "not read: the API refused one window reaching back" in refused.entity(entity).message
            assert sorted(warehouse_rows(capped, table)) == sorted(set(want[table]) - set(older[entity]))


# --------------------------------------------------------------------------- moving records


def test_records_moving_between_pages_are_neither_lost_nor_duplicated(wh):
    """Members newest-first and products oldest-first by ``modified``, pages of 10: the simulator
    edits or inserts a record before 30 % of the pages after the first."""
    with serve(tiny_config(seed=2, faults=Faults(move_rate=0.3))) as sim:
        since, now = days_back(sim, 14), sim_now(sim) + timedelta(days=1)
        at_end: dict[str, dict] = {}

        def snapshot(event):  # the truth when each entity finished: later moves are the next run's
            if event.kind == "done" and event.entity in MAIN_ENTITIES:
                at_end[event.entity] = in_range(sim.truth(), since)

        summary = run_sync(settings(sim), wh, mode="backfill", since=since, now=now, push=False, page_limit=10,
                           progress=snapshot)
        assert summary.ok, str(summary)
        moves = sim.stats()["moves"]
        assert moves["moved"] + moves["inserted"] >= 3, moves
        assert sum(e.refetched for e in summary.entities) >= 1  # windows seen moving were listed again

        tables = {"members": ("customers",), "products": ("products",), "transactions": ("transactions", "transaction_items")}
        for entity, names in tables.items():
            want = expected(at_end[entity])
            unsettled = summary.entity(entity).unsettled  # windows that never held still: the next run reads them
            for name in names:
                got = warehouse_rows(wh, name)
                assert not set(got) - set(want[name]), f"{name}: extra rows"  # keys are unique by construction
                lost = set(want[name]) - set(got)
                assert not lost or (unsettled and len(lost) <= moves["moved"] + moves["inserted"]), f"{name}: lost rows"
                want[name] = {k: v for k, v in want[name].items() if k not in lost}
                # a record edited after it was read keeps its older version until the next run, nothing else differs
                stale = {k for k in want[name] if "blaze_modified" in want[name][k]
                         and got[k]["blaze_modified"] < want[name][k]["blaze_modified"]}
                rest = diff({k: v for k, v in want[name].items() if k not in stale},
                            {k: v for k, v in got.items() if k not in stale})
                assert rest == {}, (name, rest)
                assert len(stale) <= moves["moved"] + moves["inserted"]

        sim.set_faults(move_rate=0.0)
        again = run_sync(settings(sim), wh, now=now + timedelta(hours=2), force=True, push=False)
        assert again.ok
        truth = in_range(sim.truth(), since)
        # members and products are read by `modified`: the next run brings every edit
        assert compare_all(truth, lambda t: warehouse_rows(wh, t), ignore=()).keys() <= {"transactions"}
        # transactions are listed by day: a bare `modified` bump on an old sale (only the fault does
        # that; refunds are followed by id) shows only in blaze_modified
        assert compare_all(truth, lambda t: warehouse_rows(wh, t), ignore=("blaze_modified",)) == {}


# --------------------------------------------------------------------------- faults


def test_server_faults_end_with_the_same_tables(quiet, wh):
    # 429 bursts without Retry-After (backoff): the client's own tests cover waiting for Retry-After
    quiet.set_faults(error_rate=0.06, burst_429_every=9, burst_429_length=2, burst_retry_after=False, truncate_rate=0.1,
                     invalid_json_rate=0.05, hang_rate=0.06, hang_seconds=2.0)
    quiet.reset_stats()
    since = days_back(quiet, 14)
    with fast_client(quiet, read_timeout=1.0) as client:
        summary = run_sync(client, wh, mode="backfill", since=since, now=sim_now(quiet) + timedelta(days=1), push=False)
    quiet.set_faults(**Faults().as_dict())
    assert summary.ok, str(summary)
    faults = quiet.stats()["faults"]
    assert faults.get("burst_429", 0) >= 2 and summary.api.rate_limited >= faults["burst_429"]
    assert sum(faults.values()) >= 5 and summary.api.retries >= sum(faults.values()) - faults.get("hang", 0)
    assert compare_all(in_range(quiet.truth(), since), lambda t: warehouse_rows(wh, t)) == {}


def test_drifted_records_are_carried_and_counted_exactly(quiet, wh):
    since, now = days_back(quiet, 14), sim_now(quiet) + timedelta(days=1)
    run_sync(settings(quiet), wh, entities=["lookups"], push=False, now=now)  # look-ups without drift
    quiet.set_faults(drift_rate=0.3)
    counted: dict[str, Counter] = {}
    for entity in ("members", "transactions", "products"):
        quiet.reset_stats()
        # look-ups on a cadence of their own: not fetched again (the simulator counts their drift too)
        summary = run_sync(settings(quiet), wh, mode="backfill", entities=[entity], since=since, now=now, push=False,
                           cadence={"lookups": 3600})
        assert [e.entity for e in summary.entities] == [entity]
        assert summary.ok and summary.quarantined == 0 and summary.api.calls == quiet.stats()["calls"]
        counted[entity] = Counter({k: v for k, v in quiet.stats()["drift"].items() if v})
        ours = Counter()
        for key, n in summary.drift().items():
            ours[key.split(":")[0]] += n
        sent = counted[entity]
        assert ours["extra_field"] == sent["extra_field"]
        if entity == "members":  # status -> customer_type, primaryPhone as a number -> phone
            assert summary.drift().get("unknown_enum:customers.customer_type", 0) == sent["unknown_enum"]
            assert summary.drift().get("number_as_text:customers.phone", 0) == sent["int_for_string"]
        if entity == "transactions":  # status -> blaze_status (transNo and memo are not mapped)
            assert summary.drift().get("unknown_enum:transactions.blaze_status", 0) == sent["unknown_enum"]
        if entity == "products":  # sku as a number (productSaleType is not mapped)
            assert summary.drift().get("number_as_text:products.sku", 0) == sent["int_for_string"]
    assert sum(sum(c.values()) for c in counted.values()) >= 20
    quiet.set_faults(drift_rate=0.0)
    # every stored difference from the truth is a drift the simulator applied, carried as sent
    want = expected(in_range(quiet.truth(), since))["customers"]
    got = warehouse_rows(wh, "customers")
    for key, row in got.items():
        for column in ("phone", "email", "customer_type"):
            if row[column] != want[key][column]:
                assert (column, row[column]) in {("email", None), ("customer_type", "Archived")} or (
                    column == "phone" and row[column].isdigit()), (key, column, row[column])


# --------------------------------------------------------------------------- the call budget


def test_the_call_budget_keeps_every_window_under_the_configured_limit(wh):
    """A limit of 40 calls per 3 s, 90 % of it ours: the fill needs about 50 calls."""
    with serve(tiny_config(seed=3, rate_limit_calls=40, rate_limit_seconds=3.0)) as sim:
        summary = run_sync(settings(sim), wh, mode="backfill", since=days_back(sim, 120), entities=["members", "products"],
                           now=sim_now(sim) + timedelta(days=1), push=False, rate_limit=(40, 3.0), budget_fraction=0.9)
        stats = sim.stats()
    assert summary.ok and stats["calls"] > 36
    assert stats["max_calls_in_window"] <= 36 and stats["rate_limited"] == 0 and summary.api.rate_limited == 0
    assert summary.api.budget == 36 and summary.api.peak_in_window <= 36


# --------------------------------------------------------------------------- push


def test_postgres_down_keeps_the_data_and_the_next_run_pushes_it(quiet, wh, staging_db):
    now = sim_now(quiet) + timedelta(days=1)
    base = {"entities": ["members", "lookups"], "since": days_back(quiet, 7)}
    down = run_sync(settings(quiet), wh, now=now, conninfo="postgresql://nobody:pw@127.0.0.1:9/none", **base)
    assert down.entity("members").status == "synced" and down.push.status == "failed" and not down.ok
    assert "cannot reach Postgres" in down.push.message and "pw" not in down.push.message
    with pytest.raises(InvestigateError, match="push"):
        down.raise_for_status()
    stored = warehouse_rows(wh, "customers")
    assert stored

    up = run_sync(settings(quiet), wh, now=now + timedelta(minutes=1), conninfo=staging_db.conninfo, **base)
    assert up.entity("members").status == "skipped" and up.api.calls == 0  # nothing fetched, yet pushed
    assert up.push.status == "ok" and up.push.tables["customers_blaze_staging"]["inserted"] == len(stored)
    assert diff(stored, pg_rows(staging_db.conninfo, "customers")) == {}


# --------------------------------------------------------------------------- the notebook


def test_the_notebook_runs_through_the_runner_and_reports(quiet, staging_db, tmp_path, monkeypatch):
    from blaze_workbook.runner import run_notebook

    monkeypatch.setenv("BLAZE_BASE_URL", quiet.url)
    monkeypatch.setenv("BLAZE_PARTNER_KEY", DEMO_PARTNER_KEY)
    monkeypatch.setenv("BLAZE_DEVELOPER_KEY", DEMO_DEVELOPER_KEY)
    monkeypatch.setenv("DATABASE_URL", staging_db.conninfo)
    home = tmp_path / "home"
    since = days_back(quiet, 7).isoformat()
    result = run_notebook("sync", params={"mode": "backfill", "since": since}, home=home)
    assert result.ok, result.error
    figures = json.loads((result.run_dir / "key_figures.json").read_text())
    summary = json.loads((result.run_dir / "sync_summary.json").read_text())
    assert figures["records_synced"] == summary["records"] > 0 and figures["api_calls"] == summary["api"]["calls"] > 0
    assert figures["quarantined"] == 0 and summary["push"]["status"] == "ok"
    assert result.record["parameters"]["since"] == since and result.record["key_figures"]["api_calls"] == figures["api_calls"]
    report = (result.run_dir / "report.html").read_text()
    assert "API calls and cost" in report and "Entities" in report
    with Warehouse.open(home / "warehouse.duckdb") as warehouse:
        assert warehouse.runs()["calls"].to_list() == [figures["api_calls"]]
        assert diff(warehouse_rows(warehouse, "customers"), pg_rows(staging_db.conninfo, "customers")) == {}


# --------------------------------------------------------------------------- the whole history (opt-in)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("BLAZE_WORKBOOK_FULL_HISTORY") != "1",
                    reason="about a minute on a loaded machine: set BLAZE_WORKBOOK_FULL_HISTORY=1 to run it")
def test_a_backfill_of_the_whole_history_equals_the_whole_truth(static_sim, staging_db, wh):
    truth = static_sim.truth()
    summary = run_sync(settings(static_sim), wh, mode="backfill", since=first_day(truth),
                       now=sim_now(static_sim) + timedelta(days=1), conninfo=staging_db.conninfo)
    assert summary.ok, str(summary)
    assert compare_all(truth, lambda t: pg_rows(staging_db.conninfo, t)) == {}
