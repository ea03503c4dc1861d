"""The sync engine's parts without the network: plans, window passes, cadence, the summary.

Everything here is pure and fast; the engine against the simulator is in ``test_sync_e2e.py``.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import orjson
import polars as pl
import pytest
from rich.console import Console

from blaze_workbook.blaze.client import RawPage
from blaze_workbook.blaze.paging import DAY_MS, DayWindow, MillisWindow, local_day, to_ms
from blaze_workbook.errors import ConfigurationError, InvestigateError
from blaze_workbook.sync.cadence import DEFAULT_CADENCE, check_cadence, due
from blaze_workbook.sync.engine import run_sync
from blaze_workbook.sync.passes import Pass, refs
from blaze_workbook.sync.progress import Progress, RichProgress, TqdmProgress
from blaze_workbook.sync.plan import (
    ALL_ENTITIES,
    Plan,
    check_entities,
    check_mode,
    local_midnight_ms,
    new_plan,
    parse_since,
    spec_for,
    tail_start,
    watermark_for,
)
from blaze_workbook.sync.summary import ApiUse, EntityResult, PushResult, SyncSummary, project_month, tier_for
from blaze_workbook.sync.warehouse import TableCounts

TZ = "America/Los_Angeles"
NOW = datetime(2026, 11, 15, 20, 0, tzinfo=UTC)
HOUR_MS = 3_600_000


def plan_for(entity: str, **changes) -> Plan:
    kw = {"run_id": "r1", "mode": "incremental", "since": None, "watermark_ms": None, "lookback": timedelta(hours=48),
          "now": NOW, "tz": TZ}
    return new_plan(entity, **{**kw, **changes})


# --------------------------------------------------------------------------- plans


def test_incremental_plan_starts_at_the_watermark_minus_the_lookback():
    mark = to_ms(NOW) - 5 * HOUR_MS
    members = plan_for("members", watermark_ms=mark)
    assert (members.kind, members.lo, members.hi, members.parallel) == ("ms", mark - 48 * HOUR_MS, to_ms(NOW), False)
    assert members.windows() == [MillisWindow(mark - 48 * HOUR_MS, to_ms(NOW))]
    # transactions: whole shop-local days, the trailing ones pulled again for refunds and late edits
    tx = plan_for("transactions", watermark_ms=mark)
    assert tx.kind == "days"
    assert date.fromordinal(tx.lo) == local_day(mark - 48 * HOUR_MS, TZ) == date(2026, 11, 13)
    assert date.fromordinal(tx.hi) == local_day(NOW, TZ)
    assert tx.windows() == [DayWindow(date(2026, 11, 13), date(2026, 11, 15))]


@pytest.mark.parametrize("entity", ["members", "transactions", "products"])
def test_a_fill_covers_since_to_now_in_windows_of_at_most_seven_days(entity):
    history_years = 0 if entity != "transactions" else 5  # members and products reach back that far too
    plan = plan_for(entity, mode="backfill", since=date(2026, 8, 1), watermark_ms=123, history_years=history_years)
    assert plan.parallel and plan.mode == "backfill" and plan.since == "2026-08-01"
    windows = plan.windows()
    if plan.kind == "days":
        assert windows[0].start == date(2026, 8, 1) and windows[-1].end == local_day(NOW, TZ)
        assert all(w.days <= 7 for w in windows)
        assert all(b.start == a.end + timedelta(days=1) for a, b in zip(windows, windows[1:], strict=False))
    else:  # after the head: everything modified before the fill's start, in one window
        assert plan.is_head(0) and windows[0] == MillisWindow(0, local_midnight_ms(date(2026, 8, 1), TZ) - 1)
        assert windows[-1].end_ms == to_ms(NOW)
        assert all(w.span_ms <= 7 * DAY_MS for w in windows[1:])
        assert all(b.start_ms == a.end_ms + 1 for a, b in zip(windows, windows[1:], strict=False))
        assert not plan.tail(to_ms(NOW) - DAY_MS).windows()[0].start_ms == 0  # the tail has no head


@pytest.mark.parametrize("entity", ["members", "products"])
def test_members_and_products_fill_from_the_shop_opening_however_late_since_is(entity):
    """Listings filter on ``modified``: a product unchanged since before ``since`` is still in the
    catalogue, so a fill reads back the default history, or to the shop's opening if older."""
    five_years = local_midnight_ms(local_day(NOW, TZ) - timedelta(days=round(5 * 365.25)), TZ)
    opened = to_ms(datetime(2015, 3, 10, 20, tzinfo=UTC))
    plan = plan_for(entity, mode="backfill", since=date(2026, 11, 1), opened_ms=opened)
    assert plan.lo == local_midnight_ms(date(2015, 3, 10), TZ) and plan.since == "2026-11-01"
    assert plan.windows()[0] == MillisWindow(0, plan.lo - 1)  # and the head reaches before even that
    # given up on, the head leaves the watermark at the fill's start, not at 1970
    assert watermark_for(plan.with_unsettled(0, TZ), plan.hi) == plan.lo
    for recent in (None, to_ms(datetime(2025, 3, 10, tzinfo=UTC))):  # unknown, or younger than the history
        assert plan_for(entity, mode="backfill", since=date(2026, 11, 1), opened_ms=recent).lo == five_years
    transactions = plan_for("transactions", mode="backfill", since=date(2026, 11, 1), opened_ms=opened)
    assert date.fromordinal(transactions.lo) == date(2026, 11, 1)


def test_a_first_run_without_watermark_fills_five_years_back():
    plan = plan_for("members")
    assert plan.parallel
    assert NOW - datetime.fromtimestamp(plan.lo / 1000, UTC) > timedelta(days=5 * 365)
    assert len(plan.windows()) == pytest.approx(5 * 365.25 / 7, abs=2)


def test_the_cursor_round_trips_and_a_finished_cursor_is_not_resumed():
    plan = plan_for("transactions", mode="backfill", since=date(2026, 10, 1)).with_done(0, 2)
    plan = plan.with_unsettled(3, TZ)
    again = Plan.from_cursor("transactions", json.loads(json.dumps(plan.cursor())))
    assert again == plan
    assert [i for i, _ in again.pending()] == [1, *range(4, len(plan.windows()))]
    assert Plan.from_cursor("members", {"complete": True, "plan": "r1"}) is None
    assert Plan.from_cursor("members", {"lo": "x"}) is None


def test_the_tail_and_the_watermark_follow_the_newest_record_not_our_clock():
    plan = plan_for("members", mode="backfill", since=date(2026, 10, 1))
    newest = to_ms(NOW) - 10 * 24 * HOUR_MS  # the server's data is older than our clock
    tail = plan.tail(tail_start(plan, newest, timedelta(hours=48), TZ))
    assert (tail.phase, tail.lo, tail.hi, tail.done, tail.tail_pass) == ("tail", newest - 48 * HOUR_MS, plan.hi, frozenset(), 1)
    assert plan.tail(plan.lo - 10**9).lo == plan.lo  # never before the plan's own start
    assert watermark_for(plan, newest) == newest
    assert watermark_for(plan, None) == plan.end_ms
    assert watermark_for(plan, plan.end_ms + 5) == plan.end_ms
    unsettled = plan.with_unsettled(2, TZ)
    assert watermark_for(unsettled, newest) == plan.windows()[2].start_ms


def test_parameters_are_checked_with_the_valid_values_listed():
    assert check_entities(None) == ALL_ENTITIES
    assert check_entities(["products", "members"]) == ("members", "products")
    assert check_entities("lookups, members") == ("members", "lookups")
    with pytest.raises(ConfigurationError, match="valid: members, transactions, products, lookups"):
        check_entities(["customers"])
    with pytest.raises(ConfigurationError, match="valid: incremental, backfill, replay"):
        check_mode("full")
    assert parse_since("2026-03-01") == parse_since(datetime(2026, 3, 1, 5, tzinfo=UTC)) == date(2026, 3, 1)
    assert parse_since(None) is parse_since("") is None
    with pytest.raises(ConfigurationError, match="ISO date"):
        parse_since("March")
    assert spec_for("products").name == "products_modified" and spec_for("members", 20).page_limit == 20
    with pytest.raises(ConfigurationError, match="page_limit"):
        run_sync(None, None, page_limit=500)


# --------------------------------------------------------------------------- passes


def _page(records: list[dict], total: int | None, skip: int = 0, last: bool = False) -> RawPage:
    body = orjson.dumps({"values": records, "skip": skip, "limit": 100, "total": total})
    return RawPage("members", (), body, len(records), skip, 100, total, NOW, 0.0, None, last)


def _m(i: int, modified: int = 1) -> dict:
    return {"id": f"m{i}", "modified": modified}


def test_a_pass_is_clean_when_nothing_shifted_under_it():
    p = Pass(DayWindow(date(2026, 1, 1), date(2026, 1, 7)))
    p.add(_page([_m(1), _m(2)], 3))
    p.add(_page([_m(3)], 3, skip=2, last=True))
    assert p.clean


@pytest.mark.parametrize(
    ("pages", "why"),
    [
        ([([1, 2], 3), ([2, 3], 3)], "a record read twice: something moved to an earlier page"),
        ([([1, 2], 4), ([3], 3)], "the total changed between pages: a record left the window"),
        ([([1, 2], 4), ([3], 4)], "fewer records than the total: one was skipped"),
    ],
)
def test_a_pass_that_saw_the_listing_move_is_not_clean(pages, why):
    p = Pass(DayWindow(date(2026, 1, 1), date(2026, 1, 7)))
    for ids, total in pages:
        p.add(_page([_m(i) for i in ids], total))
    assert not p.clean, why


def test_two_identical_passes_settle_a_window_whose_total_is_wrong():
    window = DayWindow(date(2026, 1, 1), date(2026, 1, 7))
    first, second = Pass(window), Pass(window, 2)
    for p in (first, second):
        p.add(_page([_m(1), _m(2)], 5, last=True))
    assert not second.clean and second.settled(first)
    third = Pass(window, 3)
    third.add(_page([_m(1), _m(2, modified=9)], 5, last=True))
    assert not third.settled(second)


def test_refunds_name_the_sales_they_change():
    p = Pass(DayWindow(date(2026, 1, 1), date(2026, 1, 7)))
    sale = {"id": "t1", "modified": 10, "transType": "Sale"}
    refund = {"id": "t2", "modified": 30, "created": 20, "transType": "Refund", "parentTransactionId": "t0"}
    p.add(_page([sale, refund, {"id": "t3", "transType": "Refund", "parentTransactionId": None}], 3, last=True))
    assert p.refunds == {"t0": 20} and p.seen == {"t1": 10, "t2": 30}


def test_records_that_are_not_objects_do_not_stop_a_pass():
    body = b'{"values": [{"id": "a", "modified": 1}, 7, {"id": 5}], "skip": 0, "limit": 100, "total": 3}'
    assert [r.id for r in refs(body)] == ["a", None, 5]
    assert refs(b"not json") == []


# --------------------------------------------------------------------------- cadence


def test_cadence_skips_an_entity_synced_recently_and_says_when_it_is_due():
    last = NOW - timedelta(minutes=20)
    verdict = due("members", last, 3600, NOW)
    assert not verdict.due and verdict.next_due == last + timedelta(hours=1)
    assert "next due at 2026-11-15 20:40:00 UTC" in verdict.message and "force" in verdict.message
    assert due("members", last, 3600, NOW, force=True).due
    assert due("products", last, 300, NOW).due
    assert due("members", None, 3600, NOW).message == "members: never synced"
    assert check_cadence({"products": "60"}) == {**DEFAULT_CADENCE, "products": 60}
    with pytest.raises(ConfigurationError):
        check_cadence({"members": -1})


# --------------------------------------------------------------------------- summary


def test_tiers_and_the_monthly_projection():
    assert tier_for(0) == (250_000, 100, False)
    assert tier_for(250_001) == (1_500_000, 250, False)
    assert tier_for(10_000_001) == (10_000_000, 500, True)
    assert project_month(1_000, datetime(2026, 11, 11, 0, 0, tzinfo=UTC)) == 3_000  # 10 of 30 days
    assert project_month(100, datetime(2026, 11, 1, 6, 0, tzinfo=UTC)) == 3_000  # at least one day elapsed
    assert ApiUse(projected_month=2_000_000).tier["label"] == "10,000,000 calls ($500/month)"


def test_the_summary_as_frames_json_and_key_figures():
    members = EntityResult("members", "synced", records=30, seconds=2.0, calls=4, rate_limited=1,
                           tables={"customers_blaze_staging": TableCounts(20, 5, 5)})
    members.drift["unknown_enum:customers.customer_type"] += 2
    summary = SyncSummary("r1", "incremental", NOW, NOW + timedelta(seconds=3), [members, EntityResult("products", "skipped", "due later")],
                          PushResult("failed", "Postgres down"), ApiUse(calls=4, month=4, projected_month=120))
    frame = summary.frame()
    assert frame.filter(pl.col("entity") == "members").select("new", "updated", "unchanged", "records_per_s", "drift").row(0) == (20, 5, 5, 15.0, 2)
    assert summary.tables_frame().row(0) == ("customers_blaze_staging", 20, 5, 5)
    as_json = json.loads(json.dumps(summary.as_dict()))
    assert as_json["api"]["tier"]["dollars_per_month"] == 100 and as_json["push"]["status"] == "failed"
    assert summary.key_figures() == {"records_synced": 30, "api_calls": 4, "quarantined": 0, "status": "partial", "push": "failed",
                                     "projected_month_calls": 120}
    assert summary.api_frame().height == 10 and not summary.ok
    with pytest.raises(InvestigateError, match="push: Postgres down"):
        summary.raise_for_status()
    assert "members: synced" in str(summary)


# --------------------------------------------------------------------------- progress displays


EVENTS = [
    Progress("start", "lookups", windows=6), Progress("page", "lookups", records=3), Progress("window", "lookups"),
    Progress("done", "lookups", records=3, message="lookups: 3 records, synced"),
    Progress("skip", "members", message="members: skipped, next due at 21:00"),
    Progress("start", "transactions", windows=3, done=1), Progress("page", "transactions", records=100),
    Progress("window", "transactions"), Progress("start", "transactions", windows=1),
    Progress("failed", "transactions", message="transactions: ServerError"), Progress("push", "push", message="push ok"),
]


def test_progress_displays_follow_the_events():
    out = io.StringIO()
    bars = TqdmProgress(file=out, disable=False)
    for event in EVENTS:
        bars(event)
    text = out.getvalue()
    assert "lookups" in text and "members: skipped, next due at 21:00" in text and "push ok" in text
    console = Console(file=io.StringIO(), force_terminal=False, width=120)
    with RichProgress(console) as rich_bars:
        for event in EVENTS:
            rich_bars(event)
    assert "transactions: ServerError" in console.file.getvalue()
