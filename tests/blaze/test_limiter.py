"""The call budget: a sliding window counted at completion, a shared pause, thread safety."""

from __future__ import annotations

import threading
import time

import pytest

from blaze_workbook.blaze.limiter import CallBudget
from blaze_workbook.errors import ConfigurationError


def budget(clock, calls=10, seconds=60.0, **kwargs) -> CallBudget:
    return CallBudget(calls, seconds, clock=clock, sleep=clock.sleep, **kwargs)


@pytest.mark.parametrize(
    ("calls", "fraction", "capacity"),
    [(10_000, 0.9, 9_000), (10, 0.9, 9), (10, 1.0, 10), (1, 0.5, 1), (20, 0.75, 15)],
)
def test_capacity_is_a_fraction_of_the_cap(calls, fraction, capacity):
    assert CallBudget(calls, 300, budget_fraction=fraction).capacity == capacity


def test_defaults_match_the_documented_cap():
    b = CallBudget()
    assert (b.capacity, b.seconds) == (9_000, 300.0)


def test_blocks_until_the_oldest_call_leaves_the_window(clock):
    b = budget(clock, calls=10, seconds=60, budget_fraction=0.5)
    for i in range(5):
        with b.slot() as waited:
            assert waited == 0
        clock.advance(1)  # completions at 1000, 1001, ..., 1004
    # now = 1005; the first completion leaves the window at 1060
    with b.slot() as waited:
        assert waited == pytest.approx(55)
    assert clock.now == pytest.approx(1060)


def test_slot_counts_at_completion_time(clock):
    b = budget(clock, calls=1, seconds=10, budget_fraction=1.0)
    with b.slot():
        clock.advance(30)  # a slow call: the window counts it from its end
    assert b.used() == 1
    assert b.acquire() == pytest.approx(10)


def test_calls_in_flight_hold_their_slot(clock):
    b = budget(clock, calls=2, seconds=10, budget_fraction=1.0)
    b.acquire()
    b.acquire()
    assert b.used() == 2
    with pytest.raises(RuntimeError):
        # nobody releases: the wait polls; stop the loop by letting the fake sleep raise
        b._sleep = lambda s: (_ for _ in ()).throw(RuntimeError("would wait"))  # type: ignore[method-assign]
        b.acquire()


def test_pause_holds_everyone(clock):
    b = budget(clock)
    b.pause(30)
    b.pause(10)  # a shorter pause does not shorten the longer one
    assert b.acquire() == pytest.approx(30)
    b.release()
    b.pause(0)
    assert b.acquire() == 0


def test_release_without_acquire_is_a_bug():
    with pytest.raises(RuntimeError):
        CallBudget().release()


@pytest.mark.parametrize("kwargs", [{"calls": 0}, {"seconds": 0}, {"budget_fraction": 0}, {"budget_fraction": 1.5}])
def test_bad_budget(kwargs):
    with pytest.raises(ConfigurationError):
        CallBudget(**kwargs)


def test_threads_never_exceed_the_budget():
    """Real threads and a short real window: at every acquire, calls that completed inside the
    window before it plus calls in flight stay within the capacity."""
    window, cap = 0.3, 6
    b = CallBudget(cap, window, budget_fraction=1.0)
    log: list[tuple[float, float]] = []
    lock = threading.Lock()

    def worker():
        for _ in range(6):
            with b.slot():
                start = time.monotonic()
                time.sleep(0.005)
                end = time.monotonic()  # inside the slot: a release seen later (a busy machine) is no longer "in flight"
            with lock:
                log.append((start, end))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == 24
    for start, _ in log:
        busy = sum(1 for s, e in log if s <= start and e > start - window)
        assert busy <= cap
        # what a server counting arrivals sees in the window ending at this arrival
        assert sum(1 for s, _ in log if start - window < s <= start) <= cap
    assert b.max_used <= cap
