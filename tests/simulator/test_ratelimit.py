"""The sliding-window rate limit and the busiest-window statistic, on a fake clock."""

from __future__ import annotations

import httpx
import pytest
from _fixtures_sim import SIM_HEADERS, FakeClock, tiny_config

from blaze_workbook.blaze.simulator import serve
from blaze_workbook.blaze.simulator.ratelimit import SlidingWindowLimiter
from blaze_workbook.blaze.simulator.stats import Stats


def test_limit_refuses_past_the_cap_and_frees_slots_as_the_window_slides():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 10, clock)
    assert [limiter.acquire("k") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("k") == 10
    clock.advance(2.5)
    assert limiter.acquire("k") == 8  # ceil(7.5): the first slot frees at t+10
    clock.advance(7.5)  # the first three calls are exactly 10 s old: they leave the window
    assert limiter.acquire("k") is None
    assert limiter.used("k") == 1


def test_refused_calls_do_not_count():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 10, clock)
    limiter.acquire("k")
    clock.advance(5)
    limiter.acquire("k")
    for _ in range(50):
        assert limiter.acquire("k") is not None
    clock.advance(5)  # only the first accepted call expired; refused ones never held a slot
    assert limiter.acquire("k") is None
    assert limiter.acquire("k") == 5


def test_retry_after_is_at_least_one_second():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 10, clock)
    limiter.acquire("k")
    clock.advance(9.9999)
    assert limiter.acquire("k") == 1


def test_keys_are_limited_separately_and_zero_disables():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 10, clock)
    assert limiter.acquire("a") is None
    assert limiter.acquire("b") is None
    assert limiter.acquire("a") == 10
    off = SlidingWindowLimiter(0, 10, clock)
    assert all(off.acquire("a") is None for _ in range(100))
    with pytest.raises(ValueError):
        SlidingWindowLimiter(1, 0)


def test_stats_busiest_window_slides():
    clock = FakeClock()
    stats = Stats(window_seconds=10, clock=clock)
    for _ in range(4):  # 4 calls at t
        stats.accepted()
    clock.advance(6)
    for _ in range(3):  # 7 in (t-4, t+6]
        stats.accepted()
    clock.advance(6)
    for _ in range(2):  # the first 4 left; 5 in the window
        stats.accepted()
    snap = stats.snapshot()
    assert snap["max_calls_in_window"] == 7
    assert snap["calls_in_current_window"] == 5
    assert snap["accepted"] == 9


def test_stats_counts_per_endpoint_status_and_bytes():
    stats = Stats(clock=FakeClock())
    stats.response("/a", 200, 10)
    stats.response("/a", 429, 5)
    stats.response("/b", 200, 1)
    stats.response("/b", "cut", 7)
    stats.rate_limited()
    snap = stats.snapshot()
    assert snap["by_endpoint"] == {"/a": {"200": 1, "429": 1}, "/b": {"200": 1, "cut": 1}}
    assert snap["by_status"]["200"] == 2
    assert snap["sent_429"] == 1 and snap["rate_limited"] == 1
    assert snap["bytes"] == 23 and snap["calls"] == 4
    stats.reset()
    assert stats.snapshot()["calls"] == 0


# -- over HTTP -------------------------------------------------------------------------------------


def test_rate_limit_over_http(fake_clock):
    config = tiny_config(rate_limit_calls=20, rate_limit_seconds=2, clock=fake_clock)
    with serve(config) as sim, httpx.Client(base_url=sim.api_url, headers=SIM_HEADERS) as client:
        assert all(client.get("employees").status_code == 200 for _ in range(20))
        refused = client.get("employees")
        assert refused.status_code == 429
        assert refused.json()["error"] == "Too Many Requests" and refused.json()["status"] == 429
        assert refused.headers["Retry-After"] == "2"
        fake_clock.advance(1.2)
        assert client.get("employees").headers["Retry-After"] == "1"
        fake_clock.advance(0.8)  # the 20 calls leave the window
        assert client.get("employees").status_code == 200
        stats = sim.stats()
    assert stats["rate_limited"] == 2 and stats["sent_429"] == 2
    assert stats["max_calls_in_window"] == 20
    assert stats["accepted"] == 21
