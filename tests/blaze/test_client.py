"""The client: headers, envelope reading, retries of broken bodies, windows in parallel, no key leaks.

Edge cases the simulator cannot produce run against ``httpx.MockTransport``; the behaviour that
matters end to end runs against the real simulator over 127.0.0.1 in ``test_client_sim.py``.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import orjson
import pytest

from blaze_workbook.blaze.client import BlazeClient, RawPage
from blaze_workbook.blaze.paging import DayWindow, MillisWindow, WindowStepper
from blaze_workbook.blaze.retry import RetryPolicy
from blaze_workbook.config import BlazeSettings
from blaze_workbook.errors import (
    AuthError,
    BadRequestError,
    ConfigurationError,
    InvestigateError,
    NotFoundError,
    ServerError,
)

PARTNER = "pk-test-PARTNER-secret-123"
DEVELOPER = "dk-test-DEVELOPER-secret-456"
SETTINGS = BlazeSettings("http://blaze.test", PARTNER, DEVELOPER)


def listing(request: httpx.Request, total: int, cap: int = 100, skip_name: str = "skip") -> httpx.Response:
    skip = int(request.url.params.get(skip_name, 0))
    limit = min(cap, int(request.url.params.get("limit", 100)))
    values = [{"id": f"r{i}"} for i in range(skip, min(total, skip + limit))]
    return httpx.Response(200, json={"values": values, "skip": skip, "limit": limit, "total": total})


def make_client(handler, clock=None, **kwargs) -> BlazeClient:
    policy = RetryPolicy(jitter=0, sleep=(clock.sleep if clock else lambda s: None), **kwargs.pop("policy_kw", {}))
    return BlazeClient(SETTINGS, transport=httpx.MockTransport(handler), policy=policy, **kwargs)


def ids(pages: list[RawPage]) -> list[str]:
    return [v["id"] for p in pages for v in p.values()]


def test_sends_both_partner_key_headers_and_the_raw_developer_key():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"shop": {"id": "s1"}})

    with make_client(handler) as client:
        assert client.get_object("store") == {"shop": {"id": "s1"}}
    headers = seen[0].headers
    assert headers["partner_key"] == PARTNER
    assert headers["x-api-key"] == PARTNER
    assert headers["authorization"] == DEVELOPER
    assert seen[0].url.path == "/api/v1/partner/store"


def test_base_url_may_include_the_api_prefix():
    seen = []

    def handler(request):
        seen.append(request.url.path)
        return httpx.Response(200, json={})

    settings = BlazeSettings("http://blaze.test/api/v1/partner/", PARTNER, DEVELOPER)
    with BlazeClient(settings, transport=httpx.MockTransport(handler)) as client:
        client.get("/store")
    assert seen == ["/api/v1/partner/store"]


def test_pages_advance_by_records_received_and_stop_at_total():
    requests = []

    def handler(request):
        requests.append(dict(request.url.params))
        return listing(request, total=230, cap=50)

    with make_client(handler) as client:
        pages = list(client.iter_pages("members", MillisWindow(0, 1000)))
    assert ids(pages) == [f"r{i}" for i in range(230)]
    assert [r["skip"] for r in requests] == ["0", "50", "100", "150", "200"]
    assert all(r["startDate"] == "0" and r["endDate"] == "1000" and r["limit"] == "100" for r in requests)
    assert [p.last for p in pages] == [False] * 4 + [True]
    assert pages[0].count == 50 and pages[0].total == 230 and pages[0].limit == 50
    assert pages[0].window == MillisWindow(0, 1000) and pages[0].endpoint == "members"


def test_start_endpoints_page_with_start():
    def handler(request):
        assert "skip" not in request.url.params
        return listing(request, total=150, skip_name="start")

    with make_client(handler) as client:
        assert len(ids(list(client.iter_pages("employees")))) == 150


def test_object_endpoint_is_one_page():
    def handler(request):
        assert request.url.params["memberId"] == "m1"
        return httpx.Response(200, json={"memberId": "m1", "loyaltyPoints": 3, "lifetimePoints": 9})

    with make_client(handler) as client:
        (page,) = client.iter_pages("loyalty_points", params={"memberId": "m1"})
        assert page.count == 1 and page.last and page.values()[0]["loyaltyPoints"] == 3
        with pytest.raises(ConfigurationError, match="memberId"):
            list(client.iter_pages("loyalty_points"))


@pytest.mark.parametrize(
    "broken",
    [
        b'{"values": [{"id": "r0"}, {"id": "r',  # truncated
        b"<html>502 Bad Gateway</html>",  # not JSON
        b'{"error": "oops"}',  # no values
        b'{"values": null, "total": 3}',
    ],
)
def test_broken_bodies_are_retried(clock, broken):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(200, content=broken)
        return listing(request, total=3)

    with make_client(handler, clock) as client:
        pages = list(client.iter_pages("products"))
        assert ids(pages) == ["r0", "r1", "r2"]
        assert len(calls) == 2 and len(clock.sleeps) == 1
        summary = client.metrics.as_dict()
    assert summary["totals"]["calls"] == 2 and summary["totals"]["invalid_bodies"] == 1


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("peer closed")]
)
def test_transport_failures_are_retried(clock, exc):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) < 3:
            raise exc
        return listing(request, total=1)

    with make_client(handler, clock) as client:
        assert ids(list(client.iter_pages("vendors"))) == ["r0"]
        frame = client.metrics.frame()
    assert frame["status"].to_list() == [0, 0, 200]
    assert frame["attempt"].to_list() == [1, 2, 3]


def test_gives_up_with_a_server_error(clock):
    with make_client(lambda r: httpx.Response(503, json={"message": "down"}), clock,
                     policy_kw={"max_attempts": 3}) as client:
        with pytest.raises(ServerError, match="503.*gave up after 3"):
            list(client.iter_pages("store"))
        assert client.metrics.calls == 3


@pytest.mark.parametrize(
    ("status", "error_type", "needle"),
    [
        (400, BadRequestError, "Date range cannot exceed 7 days"),
        (401, AuthError, "BLAZE_DEVELOPER_KEY"),
        (403, AuthError, "permission"),
        (404, NotFoundError, "BLAZE_BASE_URL"),
    ],
)
def test_client_errors_are_not_retried_and_say_what_to_fix(clock, caplog, status, error_type, needle):
    def handler(request):
        message = "Date range cannot exceed 7 days" if status == 400 else f"no ({request.headers['partner_key']})"
        return httpx.Response(status, json={"error": "x", "message": message, "status": status})

    caplog.set_level(logging.DEBUG, logger="blaze_workbook")
    with make_client(handler, clock) as client:
        with pytest.raises(error_type) as info:
            list(client.iter_pages("transactions", DayWindow(date(2026, 1, 1), date(2026, 1, 7))))
        assert client.metrics.calls == 1 and clock.sleeps == []
    text = f"{info.value} {info.value!r} {caplog.text}"
    assert needle in text
    assert "/transactions" in text
    assert PARTNER not in text and DEVELOPER not in text


def test_reprs_and_logs_never_show_keys(caplog, clock):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(500, json={"message": f"echo {request.headers['authorization']}"})
        return listing(request, total=2)

    caplog.set_level(logging.DEBUG, logger="blaze_workbook")
    with make_client(handler, clock) as client:
        pages = list(client.iter_pages("members"))
        response = client.get("/members", {"skip": 0})
        text = " ".join([repr(client), repr(pages[0]), str(pages[0]), repr(response), caplog.text])
    assert "partner_key" not in text and "x-api-key" not in text.lower() and "authorization" not in text.lower()
    assert PARTNER not in text and DEVELOPER not in text
    assert "retrying" in caplog.text


def test_server_ignoring_the_paging_parameter_is_caught():
    with make_client(lambda r: httpx.Response(200, json={"values": [{"id": "a"}] * 100, "skip": 0, "total": 500})) as c:
        with pytest.raises(InvestigateError, match="ignores its paging parameter"):
            list(c.iter_pages("members"))


@pytest.mark.parametrize(
    ("spec", "window", "match"),
    [
        ("transactions", DayWindow(date(2026, 1, 1), date(2026, 1, 8)), "at most 7"),
        ("members", MillisWindow(0, 7 * 86_400_000), "at most 7"),
        ("transactions", MillisWindow(0, 10), "wants a DayWindow"),
        ("members", DayWindow(date(2026, 1, 1), date(2026, 1, 2)), "wants a MillisWindow"),
        ("employees", DayWindow(date(2026, 1, 1), date(2026, 1, 2)), "takes no date window"),
    ],
)
def test_bad_windows_fail_before_any_call(spec, window, match):
    with make_client(lambda r: pytest.fail("no call expected")) as client:
        with pytest.raises(ConfigurationError, match=match):
            list(client.iter_pages(spec, window))


def test_paging_params_belong_to_the_paginator():
    with make_client(lambda r: pytest.fail("no call expected")) as client:
        with pytest.raises(ConfigurationError, match="paginator"):
            list(client.iter_pages("members", params={"skip": 5}))


def test_fetch_windows_runs_windows_in_parallel_and_pages_in_order():
    active, peak, lock = [0], [0], threading.Lock()
    barrier = threading.Barrier(3, timeout=5)

    def handler(request):
        start = int(request.url.params["startDate"])
        skip = int(request.url.params["skip"])
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if skip == 0 and start < 3 * 86_400_000 * 7:
            barrier.wait()  # the first three windows must be in flight together
        with lock:
            active[0] -= 1
        total = 120
        values = [{"id": f"{start}-{i}"} for i in range(skip, min(total, skip + 50))]
        return httpx.Response(200, json={"values": values, "skip": skip, "limit": 50, "total": total})

    windows = WindowStepper.epoch_ms(0, 6 * 7 * 86_400_000 - 1).windows()
    assert len(windows) == 6
    with make_client(handler, concurrency=3) as client:
        pages = list(client.fetch_windows("members", windows))
    assert peak[0] == 3
    assert len(ids(pages)) == len(set(ids(pages))) == 6 * 120
    for window in windows:
        mine = [p for p in pages if p.window == window]
        assert [p.skip for p in mine] == [0, 50, 100]
        assert [p.last for p in mine] == [False, False, True]


def test_fetch_windows_raises_the_first_error_and_stops(clock):
    def handler(request):
        if request.url.params["startDate"] == str(7 * 86_400_000):
            return httpx.Response(401, json={"message": "bad keys"})
        return listing(request, total=10)

    windows = WindowStepper.epoch_ms(0, 4 * 7 * 86_400_000 - 1).windows()
    with make_client(handler, clock, concurrency=2) as client:
        with pytest.raises(AuthError):
            list(client.fetch_windows("members", windows))


def test_fetch_windows_consumer_may_stop_early():
    with make_client(lambda r: listing(r, total=1000), concurrency=2) as client:
        gen = client.fetch_windows("members", WindowStepper.epoch_ms(0, 10 * 7 * 86_400_000).windows())
        first = next(gen)
        gen.close()
        assert first.count == 100
        assert client.metrics.calls < 100


def test_envelope_body_is_kept_raw():
    body = orjson.dumps({"values": [{"id": "a", "extra": "é"}], "skip": 0, "limit": 100, "total": 1})
    with make_client(lambda r: httpx.Response(200, content=body)) as client:
        (page,) = client.iter_pages("brands")
    assert page.body == body and page.params == (("start", "0"), ("limit", "100"))
    assert page.fetched_at.tzinfo is not None


def test_metrics_summary_frame():
    with make_client(lambda r: listing(r, total=250)) as client:
        list(client.iter_pages("members"))
        summary = client.metrics.summary()
    assert summary.to_dicts()[0] | {"bytes": 0, "seconds": 0, "max_seconds": 0} == {
        "endpoint": "members",
        "calls": 3,
        "retries": 0,
        "rate_limited": 0,
        "server_errors": 0,
        "transport_errors": 0,
        "invalid_bodies": 0,
        "bytes": 0,
        "seconds": 0,
        "max_seconds": 0,
    }


# --------------------------------------------------------------------------- sending slots


def test_no_more_than_concurrency_requests_are_sent_at_once():
    """Twelve threads on three connections: nine wait in the client, none inside httpcore's pool,
    where a queued request can lose the connection it was handed (encode/httpcore#1110).

    The handler holds each request until every request not yet answered is in, or for half a
    second: time enough for all twelve to arrive if the client let them through. A hold, not a
    timed assertion: the peak is the only figure checked."""
    concurrency, threads = 3, 12
    inside, answered, peak = [0], [0], [0]
    changed = threading.Condition()

    def handler(request):
        with changed:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
            changed.notify_all()
            changed.wait_for(lambda: answered[0] + inside[0] == threads, timeout=0.5)
            inside[0] -= 1
            answered[0] += 1
            changed.notify_all()
        return httpx.Response(200, json={"shop": {"id": "s1"}})

    start = threading.Barrier(threads)
    with make_client(handler, concurrency=concurrency) as client:

        def call(_: int) -> dict:
            start.wait()
            return client.get_object("store")

        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(call, range(threads)))
    assert results == [{"shop": {"id": "s1"}}] * threads
    assert peak[0] == concurrency


@pytest.mark.timeout(30)
def test_a_retry_backs_off_without_its_sending_slot():
    """A client with one connection makes another call from inside a retry's backoff: it finds
    the slot free (the failed send gave it back, the sleep does not hold it); holding it, the
    inner call would wait for ever on its own thread."""
    failures = [1]

    def handler(request):
        if failures[0]:
            failures[0] -= 1
            raise httpx.ReadError("[Errno 9] Bad file descriptor")
        return httpx.Response(200, json={"shop": {"id": "s1"}})

    inner: list[dict] = []
    policy = RetryPolicy(jitter=0, sleep=lambda seconds: inner.append(client.get_object("store")))
    client = BlazeClient(SETTINGS, transport=httpx.MockTransport(handler), policy=policy, concurrency=1)
    with client:
        assert client.get_object("store") == {"shop": {"id": "s1"}}
    assert inner == [{"shop": {"id": "s1"}}]
    assert [r.attempt for r in client.metrics.records()] == [1, 1, 2]
