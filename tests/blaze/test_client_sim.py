"""The client against the real simulator over 127.0.0.1: complete results, faults, budget, metrics.

Every paginator is exercised against the simulator (STYLE.md rule 12). Faulty runs must end with
exactly the same ids as the fault-free truth; the simulator's own statistics are the witness for
call counts and for the rate limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import httpx
import polars as pl
import pytest

from blaze_workbook.blaze.client import BlazeClient, RawPage
from blaze_workbook.blaze.endpoints import endpoint
from blaze_workbook.blaze.limiter import CallBudget
from blaze_workbook.blaze.metrics import CallMetrics
from blaze_workbook.blaze.paging import DEFAULT_SHOP_TZ, DayWindow, WindowStepper, local_day
from blaze_workbook.blaze.retry import RetryPolicy
from blaze_workbook.blaze.simulator import Faults, SimulatorConfig, serve
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings
from blaze_workbook.errors import AuthError, BadRequestError

pytestmark = pytest.mark.timeout(120)

#: fast retries for tests: tiny backoff, the simulator's Retry-After (1 s) still honoured
FAST = {"backoff_initial": 0.01, "backoff_max": 0.1, "jitter": 0.01, "max_attempts": 12, "max_total_wait": 60}


def client_for(sim, *, budget: CallBudget | None = None, read_timeout: float = 10.0, concurrency: int = 4,
               partner: str = DEMO_PARTNER_KEY, developer: str = DEMO_DEVELOPER_KEY) -> BlazeClient:
    policy = RetryPolicy(budget=budget or CallBudget(), **FAST)
    return BlazeClient(BlazeSettings(sim.url, partner, developer), policy=policy, concurrency=concurrency,
                       connect_timeout=5, read_timeout=read_timeout, metrics=CallMetrics())


def ids_of(pages: list[RawPage]) -> list[str]:
    return [record["id"] for page in pages for record in page.values()]


def member_windows(truth: dict[str, pl.DataFrame]) -> list:
    modified = truth["members"]["modified"]
    return WindowStepper.epoch_ms(int(modified.min()), int(modified.max())).windows()


def transaction_windows(truth: dict[str, pl.DataFrame]) -> list:
    processed = truth["transactions"]["processedTime"].drop_nulls()
    return WindowStepper.days(local_day(int(processed.min())), local_day(int(processed.max()))).windows()


def listed_transactions(truth: dict[str, pl.DataFrame], windows: list[DayWindow] | None = None) -> list[str]:
    """Ids of the transactions the listing shows: processed, on a shop-local day inside ``windows``."""
    frame = truth["transactions"].filter(pl.col("processedTime").is_not_null())
    if windows is not None:
        day = pl.from_epoch("processedTime", time_unit="ms").dt.convert_time_zone(DEFAULT_SHOP_TZ).dt.date()
        frame = frame.filter(day.is_between(windows[0].start, windows[-1].end))
    return frame["id"].to_list()


def calls_seen_by(sim) -> int:
    return sim.stats()["calls"]


def settle(sim, seconds: float = 3.0) -> None:
    """Wait until the simulator has answered every call it got (hung ones finish late)."""
    deadline = time.monotonic() + seconds
    last = -1
    while time.monotonic() < deadline:
        now = calls_seen_by(sim)
        if now == last:
            return
        last = now
        time.sleep(0.3)


# --------------------------------------------------------------------------- complete results


@pytest.mark.slow
def test_all_members_products_transactions_match_truth(sim):
    truth = sim.truth()
    before = calls_seen_by(sim)
    with client_for(sim) as client:
        members = list(client.fetch_windows("members", member_windows(truth), concurrency=4))
        members_all = list(client.iter_pages("members"))
        products = list(client.iter_pages("products"))
        modified = truth["products"]["modified"]
        products_mod = list(client.fetch_windows(
            "products_modified", WindowStepper.epoch_ms(int(modified.min()), int(modified.max())).windows()))
        transactions = list(client.fetch_windows("transactions", transaction_windows(truth), concurrency=3))
        metrics = client.metrics
    for pages, expected in [
        (members, truth["members"]["id"]),
        (members_all, truth["members"]["id"]),
        (products, truth["products"]["id"]),
        (products_mod, truth["products"]["id"]),
        (transactions, listed_transactions(truth)),
    ]:
        got = ids_of(pages)
        assert len(got) == len(set(got)), "duplicates"
        assert sorted(got) == sorted(expected)
    assert all(p.window is not None for p in members + transactions)
    assert sum(p.last for p in members) == len(member_windows(truth))
    # metrics count exactly what the simulator served
    assert metrics.calls == calls_seen_by(sim) - before
    assert metrics.as_dict()["by_status"] == {"200": metrics.calls}


@pytest.mark.parametrize("name", ["vendors", "terminals", "categories", "brands", "employees", "loyalty_activity"])
def test_other_listings_page_to_the_end(sim, name):
    with client_for(sim) as client:
        pages = list(client.iter_pages(name))
    got = ids_of(pages)
    assert len(got) == len(set(got)) == pages[-1].total
    assert pages[-1].last and not any(p.last for p in pages[:-1])
    assert [p.skip for p in pages] == [sum(p.count for p in pages[:i]) for i in range(len(pages))]


def test_single_objects(sim):
    truth = sim.truth()
    member_id = truth["members"]["id"][0]
    with client_for(sim) as client:
        assert client.get_object("members_by_id", path_params={"id": member_id})["id"] == member_id
        assert "shop" in client.get_object("store")
        points = client.get_object("loyalty_points", {"memberId": member_id})
        assert points["memberId"] == member_id


# --------------------------------------------------------------------------- errors that are not retried


def test_400_is_not_retried_and_carries_the_api_message(sim):
    before = calls_seen_by(sim)
    with client_for(sim) as client:
        with pytest.raises(BadRequestError, match="Date range cannot exceed 7 days"):
            client.get("/transactions", {"startDate": "01/01/2026", "endDate": "01/08/2026"})
        assert client.metrics.calls == 1
    assert calls_seen_by(sim) - before == 1


def test_401_is_not_retried_names_the_settings_and_echoes_no_key(sim, caplog):
    wrong_partner, wrong_developer = "wrong-partner-key-0001", "wrong-developer-key-0002"
    before = calls_seen_by(sim)
    with client_for(sim, partner=wrong_partner, developer=wrong_developer) as client:
        with pytest.raises(AuthError) as info:
            list(client.iter_pages("members"))
    text = f"{info.value} {info.value!r} {caplog.text}"
    assert "BLAZE_PARTNER_KEY" in text and "BLAZE_DEVELOPER_KEY" in text and "401" in text
    assert wrong_partner not in text and wrong_developer not in text
    assert calls_seen_by(sim) - before == 1


# --------------------------------------------------------------------------- faults


@pytest.mark.slow
@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_faults_end_with_the_complete_result(retry_after):
    faults = Faults(error_rate=0.12, truncate_rate=0.08, invalid_json_rate=0.08, hang_rate=0.04, hang_seconds=3,
                    burst_429_every=30, burst_429_length=2, burst_retry_after=retry_after)
    config = SimulatorConfig(scale="tiny", seed=1, faults=faults, partner_key=DEMO_PARTNER_KEY,
                             developer_key=DEMO_DEVELOPER_KEY)
    with serve(config) as sim:
        truth = sim.truth()
        with client_for(sim, read_timeout=1.5) as client:
            members = list(client.fetch_windows("members", member_windows(truth), concurrency=4))
            weeks = transaction_windows(truth)[-3:]  # transaction pages are ~5 MB: a few weeks suffice
            transactions = list(client.fetch_windows("transactions", weeks, concurrency=4))
            products = list(client.iter_pages("products"))
            summary = client.metrics.as_dict()["totals"]
            calls = client.metrics.calls
        settle(sim)
        stats = sim.stats()
    for pages, expected in [(members, truth["members"]["id"]), (transactions, listed_transactions(truth, weeks)),
                            (products, truth["products"]["id"])]:
        got = ids_of(pages)
        assert sorted(got) == sorted(expected)
        assert len(got) == len(set(got))
    faults_seen = stats["faults"]
    assert faults_seen.get("truncated", 0) and faults_seen.get("invalid_json", 0) and faults_seen.get("hang", 0)
    # a 429 answered after the client's read timeout counts as a timeout on our side
    assert faults_seen.get("burst_429", 0) and 0 < summary["rate_limited"] <= stats["sent_429"]
    assert summary["retries"] > 0 and summary["invalid_bodies"] > 0 and summary["transport_errors"] > 0
    assert calls == stats["calls"]


def test_pages_after_a_full_first_page_are_fetched_ahead_with_no_extra_call(sim, caplog):
    """300 members in pages of 20: 15 calls, as one page at a time; pages 2..15 fetched ahead."""
    spec = replace(endpoint("members"), page_limit=20)
    before = calls_seen_by(sim)
    with caplog.at_level(logging.DEBUG, logger="blaze_workbook.blaze"), client_for(sim) as client:
        pages = list(client.iter_pages(spec))
    truth_ids = sim.truth()["members"]["id"].to_list()
    assert sorted(ids_of(pages)) == sorted(truth_ids) and len(truth_ids) == 300
    assert calls_seen_by(sim) - before == len(pages) == 15
    assert [p.skip for p in pages] == list(range(0, 300, 20)) and [p.last for p in pages] == [False] * 14 + [True]
    fetched_by = [r.threadName for r in caplog.records if " -> 200" in r.getMessage()]
    assert len(fetched_by) == 15 and sum(name.startswith("blaze-ahead") for name in fetched_by) == 14


def test_windows_fetched_at_once_are_handed_out_in_turn(sim):
    """A window's pages come only after every page of the windows before it (so a refund is
    stored after the sale it changed), with each window's last page marked, and no extra call."""
    truth = sim.truth()
    windows = transaction_windows(truth)
    before = calls_seen_by(sim)
    with client_for(sim) as client:
        pages = list(client.fetch_windows("transactions", windows, concurrency=4))
    order = [windows.index(p.window) for p in pages]
    assert order == sorted(order) and sorted(set(order)) == list(range(len(windows)))
    assert [p.last for p in pages] == [k != nxt for k, nxt in zip(order, [*order[1:], None], strict=True)]
    assert sorted(ids_of(pages)) == sorted(listed_transactions(truth))
    assert calls_seen_by(sim) - before == len(pages)


def test_moving_records_do_not_break_paging():
    """Records modified while a listing pages: a single pass may miss or repeat a record (the sync
    layer's overlap and merge fix that), but the paginator never repeats an offset and stops."""
    config = SimulatorConfig(scale="tiny", seed=2, faults=Faults(move_rate=0.5), partner_key=DEMO_PARTNER_KEY,
                             developer_key=DEMO_DEVELOPER_KEY)
    with serve(config) as sim:
        with client_for(sim) as client:
            pages = list(client.iter_pages("members"))
            moves = sim.stats()["moves"]
            assert sum(moves.values()) > 0
            skips = [p.skip for p in pages]
            assert skips == sorted(set(skips))
            assert [p.skip for p in pages] == [sum(p.count for p in pages[:i]) for i in range(len(pages))]
            assert pages[-1].last and pages[-1].skip + pages[-1].count >= pages[-1].total
            for page in pages:
                page_ids = [r["id"] for r in page.values()]
                assert len(page_ids) == len(set(page_ids))
            truth_ids = set(sim.truth()["members"]["id"])
            assert set(ids_of(pages)) <= truth_ids
            # a second pass without moves reads everything exactly once
            sim.set_faults(move_rate=0.0)
            again = ids_of(list(client.iter_pages("members")))
            assert sorted(again) == sorted(truth_ids)


# --------------------------------------------------------------------------- the budget


def test_client_never_exceeds_its_budget():
    calls, seconds = 20, 1.0
    config = SimulatorConfig(scale="tiny", seed=0, rate_limit_calls=calls, rate_limit_seconds=seconds,
                             partner_key=DEMO_PARTNER_KEY, developer_key=DEMO_DEVELOPER_KEY)
    with serve(config) as sim:
        truth = sim.truth()
        budget = CallBudget(calls, seconds, budget_fraction=0.9)
        windows = member_windows(truth)
        started = time.monotonic()
        with client_for(sim, budget=budget, concurrency=4) as client:
            pages = list(client.fetch_windows("members", windows, concurrency=4))
            made = client.metrics.calls
        elapsed = time.monotonic() - started
        stats = sim.stats()
    assert made == stats["calls"] >= len(windows)
    assert stats["max_calls_in_window"] <= budget.capacity == 18
    assert stats["sent_429"] == 0 and stats["rate_limited"] == 0
    assert elapsed >= (made - budget.capacity) / budget.capacity * seconds * 0.9
    assert len(ids_of(pages)) == len(set(ids_of(pages)))
    assert Counter(p.window for p in pages if p.last) == Counter(windows)


def test_server_429_with_retry_after_is_waited_out():
    """A budget larger than the server's limit: the client learns from 429 + Retry-After and
    still reads everything (sharing the pause between threads is tested in test_retry.py)."""
    config = SimulatorConfig(scale="tiny", seed=0, rate_limit_calls=10, rate_limit_seconds=1.0,
                             partner_key=DEMO_PARTNER_KEY, developer_key=DEMO_DEVELOPER_KEY)
    with serve(config) as sim:
        truth = sim.truth()
        windows = member_windows(truth)
        budget = CallBudget(1000, 1.0)
        with client_for(sim, budget=budget, concurrency=4) as client:
            pages = list(client.fetch_windows("members", windows))
            summary = client.metrics.as_dict()["totals"]
        stats = sim.stats()
    assert stats["rate_limited"] > 0 and summary["rate_limited"] == stats["sent_429"]
    assert sorted(ids_of(pages)) == sorted(truth["members"]["id"])
    assert stats["sent_429"] < summary["calls"] / 2  # it waited rather than hammered
    assert summary["calls"] == stats["calls"]


def test_day_windows_are_accepted_by_the_simulator(sim):
    truth = sim.truth()
    last = transaction_windows(truth)[-1]
    seven = DayWindow(last.end - timedelta(days=6), last.end)
    with client_for(sim) as client:
        pages = list(client.iter_pages("transactions", seven))
    assert pages[-1].last


# --------------------------------------------------------------------------- connections


class CountingTransport(httpx.BaseTransport):
    """httpx's own transport, with the pool the client sets up for itself, counting the requests
    inside it at once: a request waiting in the pool for a connection is inside it."""

    def __init__(self, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._inner = httpx.HTTPTransport(limits=limits)
        self._lock = threading.Lock()
        self.inside = self.peak = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        try:
            return self._inner.handle_request(request)
        finally:
            with self._lock:
                self.inside -= 1

    def close(self) -> None:
        self._inner.close()


def test_lanes_windows_and_pages_ahead_never_queue_in_the_pool():
    """Three lanes on one client of two connections, as the sync runs them: a windowed listing
    (windows side by side) and two listings in pages of 10 (pages fetched ahead). Without the
    client's sending slots up to a dozen requests would wait inside httpcore's pool, where one
    can lose the connection it was handed (encode/httpcore#1110); with them, never more than two
    are inside it, and every record arrives."""
    config = SimulatorConfig(scale="tiny", seed=0, rate_limit_calls=0, faults=Faults(latency_ms=20),
                             partner_key=DEMO_PARTNER_KEY, developer_key=DEMO_DEVELOPER_KEY)
    with serve(config) as sim:
        truth = sim.truth()
        transport = CountingTransport(2)
        client = BlazeClient(BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY), transport=transport,
                             concurrency=2, policy=RetryPolicy(budget=CallBudget(), **FAST), metrics=CallMetrics())
        lanes = {
            "windows": lambda: list(client.fetch_windows("members", member_windows(truth))),
            "members": lambda: list(client.iter_pages(replace(endpoint("members"), page_limit=10))),
            "products": lambda: list(client.iter_pages(replace(endpoint("products"), page_limit=10))),
        }
        with client, ThreadPoolExecutor(len(lanes)) as pool:
            pages = {name: future.result() for name, future in [(n, pool.submit(lane)) for n, lane in lanes.items()]}
            calls = client.metrics.calls
        stats = sim.stats()
    assert transport.peak == 2
    assert sorted(ids_of(pages["windows"])) == sorted(ids_of(pages["members"])) == sorted(truth["members"]["id"])
    assert sorted(ids_of(pages["products"])) == sorted(truth["products"]["id"])
    assert len(pages["members"]) > 10 and calls == stats["calls"] and stats["by_status"] == {"200": calls}
