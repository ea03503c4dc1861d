"""Pages prepared on a second thread (``sync/prepared.py``) and stored as the listing gave them.

The warehouse is a real DuckDB file; the listing is a generator of real pages, as the client's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from _sync_pages import lookups, member, page
from blaze_workbook.blaze.client import RawPage
from blaze_workbook.errors import InputDataError, ServerError
from blaze_workbook.mapping import CUSTOMERS
from blaze_workbook.sync import Warehouse
from blaze_workbook.sync.passes import refs
from blaze_workbook.sync.prepared import PreparedAhead

NOW = datetime(2026, 11, 15, 20, 0, tzinfo=UTC)


@pytest.fixture()
def wh(tmp_path):
    with Warehouse.open(tmp_path / "w.duckdb") as w:
        for entity, body in lookups():
            w.ingest("run-0", entity, body)
        yield w


def _raw(body: bytes, count: int, last: bool = False) -> RawPage:
    return RawPage("members", (), body, count, 0, 100, count, NOW, 0.0, None, last)


def _listing(pages: list[RawPage], log: list[str], fail_after: int | None = None) -> Iterator[RawPage]:
    try:
        for k, p in enumerate(pages):
            if fail_after is not None and k == fail_after:
                raise ServerError("GET /members answered 503 five times")
            log.append(f"sent {k}")
            yield p
    finally:
        log.append("closed")


def _pages(n: int) -> list[RawPage]:
    return [_raw(page(member(2 * k), member(2 * k + 1, firstName="Ann")), 2, last=k == n - 1) for k in range(n)]


def test_pages_come_in_order_prepared_with_their_refs(wh):
    pages = [*_pages(5)[:2], _raw(page(), 0), *_pages(5)[2:]]
    ahead = PreparedAhead(iter(pages), lambda body: wh.prepare("members", body))
    got = list(ahead)
    ahead.close()
    assert [r.page for r in got] == pages
    assert [[x.id for x in r.refs] for r in got] == [[x.id for x in refs(p.body)] for p in pages]
    assert got[2].prepared() is None  # a page without records is not prepared: it is never stored
    for r in got[:2] + got[3:]:
        counts = wh.ingest("run-1", "members", r.prepared())
        assert counts.records == 2 and counts.new == 2
    assert wh.row_counts()["customers_blaze_staging"] == 10


def test_a_prepared_page_stores_what_its_bytes_store(tmp_path):
    body = page(*(member(i, modified=1_761_000_000_000 + i) for i in range(30)))
    tables = []
    for name, prepared in (("bytes", False), ("prepared", True)):
        with Warehouse.open(tmp_path / f"{name}.duckdb") as w:
            for entity, b in lookups():
                w.ingest("run-0", entity, b)
            w.ingest("run-1", "members", w.prepare("members", body) if prepared else body, {"r": 1}, {"watermark_ms": 5})
            tables.append((w.staging_frame("customers_blaze_staging"), w.state("members")["watermark_ms"],
                           w.raw_body(w.sql("SELECT sha256 FROM raw_pages ORDER BY page_id DESC LIMIT 1").item())))
    assert tables[0][0].equals(tables[1][0]) and tables[0][1:] == tables[1][1:] == (5, body)


def test_a_page_prepared_before_the_shop_time_zone_arrived_is_decoded_again(tmp_path):
    with Warehouse.open(tmp_path / "w.duckdb") as w:
        early = w.prepare("members", page(member(1, lastVisitDate=1_761_793_355_390)))  # 2025-10-30T03:02:35Z
        assert early.timezone == "America/Los_Angeles"  # the fallback: 2025-10-29
        w.ingest("r", "store", json.dumps({"shop": {"id": "s", "name": "Mitte", "timeZone": "Europe/Berlin"}}).encode())
        w.ingest("r", "members", early)
        assert str(w.staging_frame(CUSTOMERS).get_column("last_visited")[0]) == "2025-10-30"


def test_a_listing_error_comes_after_the_pages_before_it(wh):
    log: list[str] = []
    ahead = PreparedAhead(_listing(_pages(5), log, fail_after=3), lambda body: wh.prepare("members", body))
    got = []
    with pytest.raises(ServerError, match="503"):
        for r in ahead:
            got.append(r.page)
    ahead.close()
    assert len(got) == 3 and log == ["sent 0", "sent 1", "sent 2", "closed"]


def test_a_page_that_does_not_decode_raises_at_its_turn(wh):
    bad = _raw(b'{"values": [{"id": "m1"}], "skip": 0}'[:-3], 1)  # cut short: not JSON
    pages = [*_pages(2), bad]
    ahead = PreparedAhead(iter(pages), lambda body: wh.prepare("members", body))
    got = list(ahead)
    ahead.close()
    assert got[0].prepared() is not None and got[1].prepared() is not None
    with pytest.raises(InputDataError, match="not a Blaze list response"):
        got[2].prepared()


def test_closing_early_stops_the_worker_and_closes_the_listing(wh):
    log: list[str] = []
    ahead = PreparedAhead(_listing(_pages(50), log), lambda body: wh.prepare("members", body), name="members")
    first = next(iter(ahead))
    assert first.page.count == 2
    ahead.close()
    assert log[-1] == "closed"
    sent = sum(entry.startswith("sent") for entry in log)
    assert sent <= 4, f"read {sent} pages ahead of the one taken: at most the queue, the worker's and the taken one"
    assert not any(t.name == "members-ahead" for t in threading.enumerate())
