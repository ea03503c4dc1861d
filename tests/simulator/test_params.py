"""Query-parameter parsing: paging names and cap, date formats, the 7-day rule."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from blaze_workbook.blaze.simulator import params
from blaze_workbook.errors import BadRequestError

LA = ZoneInfo("America/Los_Angeles")
#: 2026-11-15T20:00:00Z is 12:00 on 2026-11-15 in Los Angeles
NOW_MS = 1_794_772_800_000


@pytest.mark.parametrize(
    ("query", "primary", "expected"),
    [
        ({}, "skip", (0, 100)),
        ({"skip": "20", "limit": "5"}, "skip", (20, 5)),
        ({"start": "20"}, "skip", (20, 100)),  # synonym accepted
        ({"start": "7"}, "start", (7, 100)),
        ({"skip": "7"}, "start", (7, 100)),
        ({"skip": "1", "start": "2"}, "start", (2, 100)),  # the documented name wins
        ({"limit": "500"}, "skip", (0, 100)),  # capped
        ({"limit": "100"}, "skip", (0, 100)),
        ({"limit": " 3 "}, "skip", (0, 3)),
    ],
)
def test_paging(query, primary, expected):
    paging = params.parse_paging(query, primary)
    assert (paging.skip, paging.limit) == expected


@pytest.mark.parametrize(
    "query",
    [{"skip": "abc"}, {"skip": "-1"}, {"limit": "0"}, {"limit": "-5"}, {"limit": "1.5"}, {"skip": ""},
     {"start": "x"}],
)
def test_paging_malformed(query):
    with pytest.raises(BadRequestError):
        params.parse_paging(query, "skip")


def test_bool():
    assert params.parse_bool({"a": "TRUE"}, "a") is True
    assert params.parse_bool({"a": "false"}, "a") is False
    assert params.parse_bool({}, "a") is None
    with pytest.raises(BadRequestError):
        params.parse_bool({"a": "yes please"}, "a")


def test_ms_range():
    assert params.parse_ms_range({"startDate": "1", "endDate": "2"}) == params.MsRange(1, 2)
    assert params.parse_ms_range({"startDate": "5"}) == params.MsRange(5, None)
    assert params.parse_ms_range({}) == params.MsRange()
    for bad in ({"startDate": "11/01/2026"}, {"startDate": "5", "endDate": "4"}):
        with pytest.raises(BadRequestError):
            params.parse_ms_range(bad)


def test_either_range_takes_both_formats():
    assert params.parse_either_range({"startDate": "10", "endDate": "20"}) == params.MsRange(10, 20)
    days = params.parse_either_range({"startDate": "11/01/2026", "endDate": "11/30/2026"})
    assert days == params.DayRange(date(2026, 11, 1), date(2026, 11, 30))
    with pytest.raises(BadRequestError, match="same format"):
        params.parse_either_range({"startDate": "10", "endDate": "11/30/2026"})


def test_transactions_default_is_the_last_seven_local_days():
    days = params.parse_transaction_range({}, NOW_MS, LA)
    assert days == params.DayRange(date(2026, 11, 9), date(2026, 11, 15))


def test_transactions_default_uses_the_shop_day_not_utc():
    # 2026-11-16T03:00Z is still the 15th in Los Angeles
    days = params.parse_transaction_range({}, NOW_MS + 7 * 3_600_000, LA)
    assert days.end_day == date(2026, 11, 15)


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [("11/01/2026", "11/07/2026", True), ("11/01/2026", "11/08/2026", False),
     ("11/01/2026", "11/01/2026", True), ("12/29/2025", "01/04/2026", True), ("1/1/2026", "1/9/2026", False)],
)
def test_seven_day_rule(start, end, ok):
    query = {"startDate": start, "endDate": end}
    if ok:
        assert params.parse_transaction_range(query, NOW_MS, LA).start_day is not None
    else:
        with pytest.raises(BadRequestError) as err:
            params.parse_transaction_range(query, NOW_MS, LA)
        assert err.value.message == "Date range cannot exceed 7 days"


@pytest.mark.parametrize(
    "query",
    [{"startDate": "11/01/2026"}, {"endDate": "11/01/2026"}, {"startDate": "2026-11-01", "endDate": "11/02/2026"},
     {"startDate": "13/01/2026", "endDate": "13/02/2026"}, {"startDate": "11/05/2026", "endDate": "11/01/2026"},
     {"startDate": "02/30/2026", "endDate": "03/01/2026"}],
)
def test_transactions_malformed(query):
    with pytest.raises(BadRequestError):
        params.parse_transaction_range(query, NOW_MS, LA)


def test_parse_now():
    assert params.parse_now("2026-11-15T20:00:00Z") == NOW_MS
    assert params.parse_now("2026-11-15T12:00:00-08:00") == NOW_MS
    assert params.parse_now("2026-11-15T20:00:00") == NOW_MS
    assert params.parse_now(str(NOW_MS)) == NOW_MS
    with pytest.raises(BadRequestError):
        params.parse_now("yesterday")


def test_day_start_ms_is_shop_local_midnight():
    assert params.day_start_ms(date(2026, 11, 15), LA) == NOW_MS - 20 * 3_600_000 + 8 * 3_600_000
    # DST ends on 2026-11-01: that day is 25 hours long
    assert params.day_start_ms(date(2026, 11, 2), LA) - params.day_start_ms(date(2026, 11, 1), LA) == 25 * 3_600_000
