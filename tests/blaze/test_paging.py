"""Paging arithmetic and date windows: tables for the rules, hypothesis for the invariants."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blaze_workbook.blaze.endpoints import endpoint
from blaze_workbook.blaze.paging import (
    DAY_MS,
    DayWindow,
    MillisWindow,
    OffsetPaginator,
    WindowStepper,
    local_day,
)
from blaze_workbook.errors import ConfigurationError, InvestigateError

# --------------------------------------------------------------------------- offset paging


def run(paginator: OffsetPaginator, total: int, cap: int = 100) -> list[tuple[int, int]]:
    """Drive a paginator against a server holding ``total`` records and capping pages at ``cap``."""
    seen = []
    while True:
        params = paginator.params()
        skip = int(params.get(paginator.param or "", 0))
        received = max(0, min(cap, int(params.get("limit", cap)), total - skip))
        seen.append((skip, received))
        if not paginator.advance(received, total, min(cap, paginator.limit)):
            return seen


@pytest.mark.parametrize(
    ("total", "cap", "expected"),
    [
        (0, 100, [(0, 0)]),
        (1, 100, [(0, 1)]),
        (100, 100, [(0, 100)]),  # skip reaches total: no extra empty request
        (101, 100, [(0, 100), (100, 1)]),
        (250, 100, [(0, 100), (100, 100), (200, 50)]),
        (250, 40, [(0, 40), (40, 40), (80, 40), (120, 40), (160, 40), (200, 40), (240, 10)]),  # capped below limit
    ],
)
def test_offset_paging_table(total, cap, expected):
    assert run(OffsetPaginator(), total, cap) == expected


def test_params_use_the_endpoint_parameter_name():
    assert OffsetPaginator.for_spec(endpoint("members")).params() == {"skip": "0", "limit": "100"}
    assert OffsetPaginator.for_spec(endpoint("employees")).params() == {"start": "0", "limit": "100"}
    single = OffsetPaginator.for_spec(endpoint("categories"))
    assert single.params() == {}
    assert single.advance(37, 37) is False


def test_stops_on_empty_page_even_if_total_says_more():
    p = OffsetPaginator()
    p.params()
    assert p.advance(100, 500)
    p.params()
    assert p.advance(0, 500) is False


def test_without_total_stops_on_short_page():
    p = OffsetPaginator()
    p.params()
    assert p.advance(100, None, 100)
    p.params()
    assert p.advance(99, None, 100) is False


def test_refuses_to_repeat_a_token():
    p = OffsetPaginator()
    p.params()
    with pytest.raises(InvestigateError, match="repeat skip=0"):
        p.params()


def test_refuses_to_go_on_after_the_end():
    p = OffsetPaginator()
    p.params()
    p.advance(3, 3)
    with pytest.raises(InvestigateError):
        p.params()
    with pytest.raises(InvestigateError):
        p.advance(1, 3)


@pytest.mark.parametrize("kwargs", [{"param": "offset"}, {"limit": 0}, {"limit": 101}])
def test_bad_paginator_configuration(kwargs):
    with pytest.raises(ConfigurationError):
        OffsetPaginator(**kwargs)


@given(total=st.integers(0, 5_000), cap=st.integers(1, 100), limit=st.integers(1, 100))
def test_offset_paging_reads_every_record_once(total, cap, limit):
    pages = run(OffsetPaginator(limit=limit), total, cap)
    per_page = min(cap, limit)
    covered = [i for skip, n in pages for i in range(skip, skip + n)]
    assert covered == list(range(total))  # in order, no gap, no duplicate
    assert len(pages) == max(1, math.ceil(total / per_page))
    assert len({skip for skip, _ in pages}) == len(pages)


@given(
    start_total=st.integers(0, 1_000),
    growth=st.lists(st.integers(-20, 50), min_size=0, max_size=40),
)
def test_offset_paging_terminates_while_total_moves(start_total, growth):
    """Records inserted or removed while paging: it still ends and never repeats an offset."""
    p = OffsetPaginator()
    total, skips, steps = start_total, [], iter(growth)
    while True:
        skip = int(p.params()["skip"])
        skips.append(skip)
        total = max(0, total + next(steps, 0))
        received = max(0, min(100, total - skip))
        if not p.advance(received, total):
            break
    assert skips == sorted(set(skips))
    assert p.skip >= p.total or received == 0


# --------------------------------------------------------------------------- windows


def check_cover(windows, lo, hi, size, overlap):
    """Windows start at lo, end at hi, each at most ``size`` units, consecutive ones share ``overlap``."""
    assert windows[0][0] == lo
    assert windows[-1][1] == hi
    for a, b in windows:
        assert a <= b and b - a + 1 <= size
    for (a1, b1), (a2, b2) in zip(windows, windows[1:], strict=False):
        assert a2 > a1  # strictly forward
        assert a2 == b1 + 1 - overlap  # no gap, overlap exactly as asked


@settings(max_examples=200)
@given(
    start=st.dates(date(2015, 1, 1), date(2030, 1, 1)),
    length=st.integers(0, 400),
    max_days=st.integers(1, 7),
    data=st.data(),
)
def test_day_windows_cover_the_range(start, length, max_days, data):
    overlap = data.draw(st.integers(0, max_days - 1))  # days: even the largest overlap steps a day
    end = start + timedelta(days=length)
    windows = WindowStepper.days(start, end, max_days=max_days, overlap_days=overlap).windows()
    assert all(isinstance(w, DayWindow) and w.days <= 7 for w in windows)
    # the simulator's and the API's check: (end - start).days + 1 <= 7
    assert all((w.end - w.start).days + 1 <= max_days for w in windows)
    check_cover([(w.start.toordinal(), w.end.toordinal()) for w in windows], start.toordinal(), end.toordinal(),
                max_days, overlap)


@settings(max_examples=200)
@given(
    start=st.integers(1_400_000_000_000, 1_900_000_000_000),
    length=st.integers(0, 120 * DAY_MS),
    max_days=st.integers(1, 7),
    data=st.data(),
)
def test_millis_windows_cover_the_range(start, length, max_days, data):
    # up to half a window: a larger overlap is legal but makes millions of windows for a year
    overlap = data.draw(st.integers(0, min(2 * DAY_MS, max_days * DAY_MS // 2)))
    windows = WindowStepper.epoch_ms(start, start + length, max_days=max_days, overlap_ms=overlap).windows()
    assert all(isinstance(w, MillisWindow) for w in windows)
    check_cover([(w.start_ms, w.end_ms) for w in windows], start, start + length, max_days * DAY_MS, overlap)


def test_day_window_params_and_table():
    windows = WindowStepper.days(date(2026, 1, 1), date(2026, 1, 20), overlap_days=1).windows()
    assert [(w.start.day, w.end.day) for w in windows] == [(1, 7), (7, 13), (13, 19), (19, 20)]
    assert windows[0].params() == {"startDate": "01/01/2026", "endDate": "01/07/2026"}


def test_millis_window_params():
    w = WindowStepper.epoch_ms(0, 10 * DAY_MS).advance()
    assert w == MillisWindow(0, 7 * DAY_MS - 1)
    assert w.params() == {"startDate": "0", "endDate": str(7 * DAY_MS - 1)}


def test_stepper_end_is_frozen_and_it_stops():
    s = WindowStepper.days(date(2026, 1, 1), date(2026, 1, 3))
    assert s.advance() == DayWindow(date(2026, 1, 1), date(2026, 1, 3))
    assert s.done and s.advance() is None and s.end == date(2026, 1, 3)


def test_for_spec_uses_shop_local_days_for_transactions():
    # 05:00 UTC on Nov 15 is still Nov 14 in Los Angeles
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    end = datetime(2026, 11, 15, 5, tzinfo=UTC)
    windows = WindowStepper.for_spec(endpoint("transactions"), start, end).windows()
    assert windows[0].start == date(2026, 11, 1)
    assert windows[-1].end == date(2026, 11, 14)
    assert local_day(int(end.timestamp() * 1000)) == date(2026, 11, 14)


def test_for_spec_uses_epoch_ms_for_members():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    windows = WindowStepper.for_spec(endpoint("members"), start, start + timedelta(days=10),
                                     overlap=timedelta(hours=1)).windows()
    assert windows[0].start_ms == int(start.timestamp() * 1000)
    assert windows[1].start_ms == windows[0].end_ms + 1 - 3_600_000


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((date(2026, 1, 2), date(2026, 1, 1)), {}),
        ((date(2026, 1, 1), date(2026, 1, 9)), {"overlap": 7}),
        ((date(2026, 1, 1), date(2026, 1, 9)), {"max_days": 0}),
        ((date(2026, 1, 1), 5), {}),
        ((datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)), {}),
    ],
)
def test_bad_stepper_configuration(args, kwargs):
    with pytest.raises(ConfigurationError):
        WindowStepper(*args, **kwargs)


def test_for_spec_refuses_undated_endpoint():
    now = datetime.now(UTC)
    with pytest.raises(ConfigurationError):
        WindowStepper.for_spec(endpoint("employees"), now, now)
