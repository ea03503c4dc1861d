"""Pages fetched ahead (``blaze/ahead.py``): handed out by query, dropped when the plan was wrong.

The fetch here is a plain function recording what it was asked (no network); the client fetching
ahead against the simulator is in ``test_client_sim.py``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from blaze_workbook.blaze.ahead import Ahead
from blaze_workbook.blaze.pages import Params, RawPage
from blaze_workbook.blaze.paging import OffsetPaginator
from blaze_workbook.errors import ServerError


def page_at(query: Params) -> RawPage:
    skip = int(dict(query)["skip"])
    return RawPage("members", query, b"{}", 100, skip, 100, 1000, datetime.now(UTC), 0.0)


def q(skip: int) -> Params:
    return (("skip", str(skip)), ("limit", "100"))


def test_planned_pages_are_taken_by_query_and_each_is_fetched_once():
    asked: list[Params] = []
    lock = threading.Lock()

    def fetch(query: Params) -> RawPage:
        with lock:
            asked.append(query)
        return page_at(query)

    ahead = Ahead(fetch, depth=2)
    ahead.plan([q(100), q(200), q(300)])  # depth 2: the third waits for a free place
    assert ahead.take(q(100)).skip == 100
    ahead.plan([q(200), q(300)])  # 200 is on its way already
    assert [ahead.take(q(s)).skip for s in (200, 300)] == [200, 300]
    ahead.close()
    assert sorted(asked) == [q(100), q(200), q(300)] and ahead.dropped == 0


def test_an_unplanned_query_drops_every_page_fetched_ahead():
    ahead = Ahead(page_at, depth=3)
    ahead.plan([q(100), q(200), q(300)])
    assert ahead.take(q(150)) is None  # page 1 came back short: the offsets planned are wrong
    assert ahead.take(q(200)) is None  # dropped, not kept for later
    ahead.close()
    assert 0 < ahead.dropped <= 3  # fetched then dropped (those not started yet were cancelled)


def test_the_error_of_a_page_fetched_ahead_is_raised_when_it_is_taken():
    def fetch(query: Params) -> RawPage:
        raise ServerError(f"{query} failed")

    ahead = Ahead(fetch, depth=1)
    ahead.plan([q(100)])
    with pytest.raises(ServerError, match="failed"):
        ahead.take(q(100))
    ahead.close()


@pytest.mark.parametrize(("received", "total", "expected"), [
    ((100,), 350, [100, 200, 300]),  # full first page: the rest is known
    ((100,), 1000, [100, 200, 300, 400]),  # at most depth
    ((100, 100), 350, [200, 300]),
    ((60,), 350, []),  # short page: records moving, one page at a time
    ((100,), None, []),  # no total
    ((100,), 100, []),  # done
])
def test_the_paginator_plans_ahead_only_after_a_full_page_with_a_total(received, total, expected):
    p = OffsetPaginator()
    for n in received:
        p.params()
        p.advance(n, total)
    assert [int(params["skip"]) for params in p.ahead(4)] == expected
