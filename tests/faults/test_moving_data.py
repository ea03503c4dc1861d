"""Data moving under the client: live events between pages, skewed clocks, late writes, members
deleted in Blaze. Nothing is lost, nothing duplicated, deletions are reported and kept.

``tests/sync/test_sync_e2e.py`` covers single records moving between pages (the ``move_rate``
fault); here the shop itself changes while pages are read (sales, refunds, edits, new members,
price changes: :meth:`Simulator.step` between stored pages), and the client's frozen window end
disagrees with the server's clock in both directions.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import polars as pl
import pytest

from _fixtures_sim import tiny_config
from _sync_run import run_sync
from blaze_workbook.blaze.simulator import serve
from blaze_workbook.sync import Warehouse

from ._api import check_postgres, check_warehouse, days_back, expected, settings, sim_now
from ._kill import sync_truth

pytestmark = pytest.mark.timeout(240)

DAYS = 14
#: live events applied after each stored page of the backfill
EVENTS_PER_PAGE = 2


def test_live_events_during_pagination_lose_and_duplicate_nothing(tmp_path, new_staging_db, tally):
    conninfo = new_staging_db().conninfo
    with serve(tiny_config(seed=11, rate_limit_calls=0)) as sim, Warehouse.open(tmp_path / "w.duckdb") as wh:
        since, now = days_back(sim, DAYS), sim_now(sim) + timedelta(minutes=30)
        events: Counter[str] = Counter()

        def shop_moves(event):  # the shop keeps selling while the pages are read
            if event.kind == "page" and event.entity in ("members", "transactions", "products"):
                events.update(e["kind"] for e in sim.step(EVENTS_PER_PAGE))

        first = run_sync(settings(sim), wh, mode="backfill", since=since, now=now, push=False, page_limit=40,
                         progress=shop_moves)
        assert first.ok, str(first)
        assert events["member_edit"] and events["member_new"] and events["transaction_new"] and events["refund"]
        # many events happened after the frozen end (the simulated clock ran on): the next run's
        assert sim.dataset.now_ms > now.timestamp() * 1000
        second = run_sync(settings(sim), wh, now=sim_now(sim) + timedelta(minutes=5), force=True, conninfo=conninfo)
        assert second.ok, str(second)
        want = expected(sim, since)
        check = check_warehouse(want, wh) + check_postgres(want, conninfo)
    assert check.ok, check
    tally.add("moving: live events during pagination", runs=2, faults=sum(events.values()), check=check)
    print("FAULT-FIGURES", json.dumps({"scenario": "live events during pagination", "runs": 2, "events": dict(events),
                                       "calls": first.api.calls + second.api.calls, "records_verified": check.records,
                                       "losses": check.losses, "duplicates": check.duplicates}))


def test_skewed_clocks_and_late_writes_within_the_lookback(tmp_path, tally):
    with serve(tiny_config(seed=12, rate_limit_calls=0)) as sim, Warehouse.open(tmp_path / "w.duckdb") as wh:
        since, base = days_back(sim, DAYS), sim_now(sim)
        sync = {"push": False, "force": True}

        # the client's clock 10 minutes behind: what the server changed since lies after the frozen end
        ahead = sim.step(4)
        behind = run_sync(settings(sim), wh, mode="backfill", since=since, now=base - timedelta(minutes=10), **sync)
        assert behind.ok and behind.entity("members").watermark_ms <= (base - timedelta(minutes=10)).timestamp() * 1000
        waiting = check_warehouse(expected(sim, since), wh)
        assert waiting.losses + waiting.changed >= 1 and waiting.duplicates == 0  # not yet: the next run's
        # the client's clock 2 hours ahead: the next run takes what waited
        early = run_sync(settings(sim), wh, now=sim_now(sim) + timedelta(hours=2), **sync)
        assert early.ok and check_warehouse(expected(sim, since), wh).ok
        # edits after that run, yet before its (too late) frozen end: the watermark is the server's
        # newest ``modified``, not the client's clock, so even without a lookback they are read
        later = sim.step(10)
        assert sim.dataset.now_ms < (base + timedelta(hours=2)).timestamp() * 1000
        no_lookback = run_sync(settings(sim), wh, now=sim_now(sim) + timedelta(hours=3), lookback_hours=0, **sync)
        assert no_lookback.ok and check_warehouse(expected(sim, since), wh).ok
        # a late write: an edit whose ``modified`` lands an hour before the last watermark
        mark = wh.state("members")["watermark_ms"]
        edits = sim.step(30)
        edit = next(e for e in edits if e["kind"] == "member_edit")
        sim.amend("members", edit["id"], modified_ms=mark - 3_600_000)
        moved = len(ahead) + len(later) + len(edits) + 1  # live events and the late write
        late = run_sync(settings(sim), wh, now=sim_now(sim) + timedelta(hours=4), **sync)
        assert late.ok
        stored = sync_truth().warehouse_rows(wh, "customers")[edit["id"]]
        assert int(stored["blaze_modified"].timestamp() * 1000) == mark - 3_600_000
        check = check_warehouse(expected(sim, since), wh)
    assert check.ok, check
    runs = [behind, early, no_lookback, late]
    tally.add("moving: clock skew and late writes", runs=len(runs), faults=moved, check=check)
    print("FAULT-FIGURES", json.dumps({"scenario": "clock skew and late writes", "runs": len(runs),
                                       "calls": sum(r.api.calls for r in runs), "records_verified": check.records,
                                       "losses": check.losses, "duplicates": check.duplicates}))


def test_members_deleted_in_blaze_are_reported_and_kept_flagged(tmp_path, new_staging_db, tally):
    conninfo = new_staging_db().conninfo
    with serve(tiny_config(seed=13, rate_limit_calls=0)) as sim, Warehouse.open(tmp_path / "w.duckdb") as wh:
        since, now = days_back(sim, DAYS), sim_now(sim) + timedelta(minutes=30)
        truth = sync_truth().in_range(sim.truth(), since)
        already = int(truth["members"]["deleted"].sum())
        first = run_sync(settings(sim), wh, mode="backfill", since=since, now=now, conninfo=conninfo)
        assert first.ok and first.entity("members").deleted == already == first.deleted - first.entity("products").deleted
        before = len(sync_truth().pg_rows(conninfo, "customers"))

        live = truth["members"].filter(~pl.col("deleted"))
        gone = live["id"][live.height // 2]
        product = truth["products"].filter(~pl.col("deleted"))["id"][0]
        sim.amend("members", gone, deleted=True)
        sim.amend("products", product, deleted=True)
        second = run_sync(settings(sim), wh, now=sim_now(sim) + timedelta(minutes=5), force=True, conninfo=conninfo)
        assert second.ok, str(second)
        # reported: in the summary, its frame, and the run's record in the warehouse
        assert (second.entity("members").deleted, second.entity("products").deleted, second.deleted) == (1, 1, 2)
        assert second.frame().filter(pl.col("entity") == "members")["deleted"].item() == 1
        assert json.loads(wh.runs()["counts"][-1])["deleted"] == 2
        # kept: the rows stay in staging, flagged, every other column as Blaze has it
        in_pg = sync_truth().pg_rows(conninfo, "customers")
        assert len(in_pg) == before and in_pg[gone]["deleted"] is True
        assert sync_truth().pg_rows(conninfo, "products")[product]["deleted"] is True
        want = expected(sim, since)
        check = check_warehouse(want, wh) + check_postgres(want, conninfo)
    assert check.ok, check
    tally.add("moving: deleted in Blaze", runs=2, faults=2, check=check)
    print("FAULT-FIGURES", json.dumps({"scenario": "deleted in Blaze", "runs": 2, "deleted_reported": [first.deleted, second.deleted],
                                       "calls": first.api.calls + second.api.calls, "records_verified": check.records,
                                       "losses": check.losses, "duplicates": check.duplicates}))
