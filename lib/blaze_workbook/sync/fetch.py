"""One entity's plan worked through: windows, passes, refunded sales, the tail, completion.

Every stored page carries the plan as the entity's cursor, in the page's own DuckDB
transaction (``Warehouse.ingest``): the state on disk never claims a window whose pages are
not all stored. A window's *done* mark rides on its last page (or on the last sale its refunds
made us re-read). Empty pages hold nothing to keep and are not stored; the marks they would
carry wait for the next stored page, or for a checkpoint after :data:`MAX_UNSAVED` of them, so a
resumed run may ask a few empty windows again (one call each) but never a window with records.

Passes (:mod:`.passes`): a window is listed again until a pass held still. After a parallel
fill, the *tail* (the newest ``modified`` stored minus the lookback, to the frozen end) is listed
again, one window at a time, until a whole pass brings nothing new: records edited or created
while the windows were listed in parallel all sit there, since an edit moves ``modified`` to
the server's now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ..blaze.client import BlazeClient, RawPage
from ..blaze.endpoints import EndpointSpec
from ..blaze.paging import Window, local_day
from ..errors import BadRequestError, NotFoundError
from ..mapping import CUSTOMERS, PRODUCTS, TRANSACTIONS, Table
from .passes import Pass
from .prepared import PreparedAhead, Ready
from .plan import Plan, spec_for, tail_start, watermark_for
from .summary import EntityResult
from .warehouse import IngestCounts, TableCounts, Warehouse

log = logging.getLogger("blaze_workbook.sync")

#: what a checkpoint stores: a page without records, carrying only a state update
EMPTY_PAGE = b'{"values":[],"skip":0,"limit":0,"total":0}'
#: done marks of empty windows wait for at most this many empty pages, then a checkpoint
MAX_UNSAVED = 16
#: the entity's own typed table (its newest ``modified`` makes the watermark)
MAIN_TABLE: dict[str, Table] = {"members": CUSTOMERS, "transactions": TRANSACTIONS, "products": PRODUCTS}

Emit = Callable[..., None]


def checkpoint(wh: Warehouse, run_id: str, entity: str, state: dict[str, Any], reason: str) -> None:
    """A state update without records, stored like a page (so replay restores it too)."""
    wh.ingest(run_id, entity, EMPTY_PAGE, {"checkpoint": reason}, state)


def account(result: EntityResult, counts: IngestCounts) -> int:
    """Add one stored page to ``result``; returns the rows it made new or changed."""
    result.pages += 1
    result.records += counts.records
    result.quarantined += counts.quarantined
    result.drift.update(counts.drift)
    changed = 0
    for name, c in counts.tables.items():
        result.tables[name] = result.tables.get(name, TableCounts()) + c
        changed += c.new + c.updated
    return changed


def request_of(page: RawPage, **extra: Any) -> dict[str, Any]:
    """What a stored page records about its request (path parameters and window; no headers)."""
    return {"endpoint": page.endpoint, "params": dict(page.params), "window": str(page.window) if page.window else None,
            **extra}


class EntitySync:
    """Lists one entity's plan into the warehouse (from its lane's thread: the warehouse's lock
    keeps each page's transaction whole while other entities store theirs)."""

    def __init__(self, wh: Warehouse, client: BlazeClient, result: EntityResult, *, run_id: str, now: datetime,
                 tz: str, lookback: timedelta, concurrency: int, page_limit: int, max_passes: int, emit: Emit) -> None:
        self.wh, self.client, self.result, self.run_id = wh, client, result, run_id
        self.entity = result.entity
        self.now, self.tz, self.lookback = now, tz, lookback
        self.concurrency, self.page_limit, self.max_passes = concurrency, page_limit, max_passes
        self.emit = emit
        self.spec = spec_for(self.entity, page_limit)
        self._unsaved = 0
        #: rows made new or changed so far (a tail pass that adds none ends the tail)
        self._changed = 0

    def run(self, plan: Plan) -> None:
        """Main windows (in parallel for a fill), the tail after a fill, then the completion."""
        log.info("%s: %s", self.entity, plan.describe())
        resumed_tail = plan.phase == "tail"
        if plan.phase == "main":
            plan = self._windows(plan)
        if plan.parallel:
            plan = self._tail(plan, resumed_tail)
        self._complete(plan)

    # --- windows ---------------------------------------------------------------------------

    def _windows(self, plan: Plan) -> Plan:
        """List every pending window of the plan's phase; returns the plan with all of them done."""
        pending = plan.pending()
        self.emit("start", self.entity, windows=len(plan.windows()), done=len(plan.done),
                  message="" if plan.phase == "main" else f"tail, pass {plan.tail_pass}")
        if pending and plan.is_head(pending[0][0]):
            plan = self._head(plan, pending.pop(0)[1])
        if plan.parallel and plan.phase == "main" and len(pending) > 1 and self.concurrency > 1:
            index_of = {window: index for index, window in pending}
            passes: dict[Window, Pass] = {}
            retry: list[tuple[int, Window, Pass]] = []
            with closing(self._ahead(self.client.fetch_windows(self.spec, [w for _, w in pending], self.concurrency))) as pages:
                for ready in pages:
                    plan = self._first_pass(plan, ready, index_of, passes, retry)
            for index, window, first in retry:
                plan = self._window(plan, index, window, first)
        else:
            for index, window in pending:
                plan = self._window(plan, index, window)
        return plan

    def _first_pass(self, plan: Plan, ready: Ready, index_of: dict[Window, int], passes: dict[Window, Pass],
                    retry: list[tuple[int, Window, Pass]]) -> Plan:
        """One page of the parallel first passes: stored; on its window's last page the window is
        closed, or queued to be listed again when it moved."""
        page = ready.page
        assert page.window is not None
        window = page.window
        current = passes.setdefault(window, Pass(window))
        current.add(page, ready.refs)
        self.result.windows += page.last
        if page.last:  # the window is over: its ids are not kept for the rest of the fill
            del passes[window]
        if not page.last:
            self._store(plan, ready, current)
        elif current.clean:
            plan = self._close(plan, index_of[window], current, ready, settled=True)
        else:
            log.info("%s: %s moved while listed; listing it again", self.entity, current.describe())
            self._store(plan, ready, current)
            retry.append((index_of[window], window, current))
        return plan

    def _head(self, plan: Plan, window: Window) -> Plan:
        """The head of a fill (``Plan.windows``), asked once with the 7-day cap lifted.

        An API that holds to the cap answers 400: the head is then marked done with a warning
        in the entity's message, and the fill keeps its weekly windows from ``lo``.
        """
        try:
            return self._window(plan, 0, window, spec=replace(self.spec, max_window_days=None))
        except BadRequestError as exc:
            note = (f"records last changed before {local_day(plan.lo, self.tz)} not read: the API refused one window "
                    f"reaching back ({exc.message})")
            log.warning("%s: %s", self.entity, note)
            self.result.message = f"{self.result.message}; {note}" if self.result.message else note
            done = plan.with_done(0)
            self._mark(done)
            return done

    def _window(self, plan: Plan, index: int, window: Window, first: Pass | None = None, *,
                spec: EndpointSpec | None = None) -> Plan:
        """List one window until a pass holds still (or ``max_passes``); returns the plan with it done."""
        previous = first
        number = first.number if first else 0
        if first is None:
            self.result.windows += 1
        while True:
            number += 1
            if number > 1:
                self.result.refetched += 1
            current = Pass(window, number)
            with closing(self._ahead(self.client.iter_pages(spec or self.spec, window))) as pages:
                for ready in pages:
                    page = ready.page
                    current.add(page, ready.refs)
                    if not page.last:
                        self._store(plan, ready, current)
                        continue
                    settled = current.settled(previous)
                    if settled or number >= self.max_passes:
                        if not settled:
                            log.warning("%s: %s never held still in %d passes; the next run lists it again",
                                        self.entity, current.describe(), number)
                        return self._close(plan, index, current, ready, settled=settled)
                    log.info("%s: %s moved while listed; listing it again", self.entity, current.describe())
                    self._store(plan, ready, current)
            previous = current

    def _close(self, plan: Plan, index: int, current: Pass, last: Ready, *, settled: bool) -> Plan:
        """Store a window's last page with the window marked done, after re-reading the sales its
        refunds changed (the mark then rides on the last of those)."""
        done = plan.with_done(index) if settled else plan.with_unsettled(index, self.tz)
        self.result.unsettled += not settled
        parents = self._parents_needed(current) if self.entity == "transactions" else []
        if not parents:
            self._store(done, last, current)
        else:
            self._store(plan, last, current)
            pages = [p for p in (self._parent_page(pid) for pid in parents) if p is not None]
            for k, page in enumerate(pages):
                self._store(done if k == len(pages) - 1 else plan, page)
            if not pages:
                self._mark(done)
        self.emit("window", self.entity)
        return done

    # --- sales changed by their refunds ----------------------------------------------------

    def _parents_needed(self, current: Pass) -> list[str]:
        """Sales whose refund is newer than every version of the sale we hold.

        A refund moves its sale's ``modified`` and refund status, but the sale stays in its own,
        possibly months old, day window: it is read again by id."""
        if not current.refunds:
            return []
        ids = sorted(current.refunds)
        stored = dict(self.wh.sql(
            f'SELECT transaction_id, _modified_ms FROM "{TRANSACTIONS.staging}" WHERE transaction_id IN (SELECT unnest($ids))',
            {"ids": ids},
        ).rows())
        return [pid for pid in ids if max(stored.get(pid) or -1, current.seen.get(pid, -1)) < current.refunds[pid]]

    def _parent_page(self, transaction_id: str) -> RawPage | None:
        """The sale as ``/transactions/{id}`` sends it, wrapped in a one-record list envelope."""
        try:
            with closing(self.client.iter_pages("transactions_by_id", path_params={"id": transaction_id})) as pages:
                page = next(iter(pages))
        except NotFoundError:
            log.warning("the sale %s of a refund is gone (404)", transaction_id)
            return None
        self.result.parents += 1
        return replace(page, body=b'{"values":[' + page.body + b'],"skip":0,"limit":1,"total":1}')

    # --- the tail and the end --------------------------------------------------------------

    def _tail(self, plan: Plan, resumed: bool) -> Plan:
        """After a parallel fill: list the newest stretch again until a pass brings nothing new."""
        if plan.phase == "main":
            plan = plan.tail(tail_start(plan, self._server_clock(), self.lookback, self.tz))
        again = resumed  # part of this pass ran before the interruption: its changes are unknown
        while True:
            self.result.tail_passes += 1
            before = self._changed
            plan = self._windows(plan)
            if (self._changed == before and not again) or plan.tail_pass >= self.max_passes:
                return plan
            again = False
            plan = plan.tail(plan.lo)

    def _complete(self, plan: Plan) -> None:
        """The plan is done: the watermark moves and the cursor says so, in one checkpoint.

        The watermark is the newest ``modified`` stored (:meth:`_server_clock`), never our clock."""
        mark = watermark_for(plan, self._server_clock())
        cursor = {"complete": True, "plan": plan.plan_id, "mode": plan.mode, "since": plan.since,
                  "synced_at": self.now.isoformat(), "end_ms": plan.end_ms, "unsettled": plan.unsettled}
        checkpoint(self.wh, self.run_id, self.entity, {"watermark_ms": mark, "cursor": cursor}, "complete")
        self._unsaved = 0
        self.result.watermark_ms = mark
        self.result.deleted = self._deleted()
        if self.result.deleted:
            log.info("%s: %d records deleted in Blaze stored by this run, kept in staging with deleted = true",
                     self.entity, self.result.deleted)

    def _deleted(self) -> int:
        """Rows this run stored (new or changed) that Blaze flags ``deleted``: reported, never
        removed; whatever reads staging decides what a deletion means (the cutover skips them)."""
        table = MAIN_TABLE[self.entity]
        if not any(c.name == "deleted" for c in table.columns):
            return 0
        return int(self.wh.sql(f'SELECT count(*) AS n FROM "{table.staging}" WHERE deleted AND _run_id = $r',
                               {"r": self.run_id}).item())

    def _server_clock(self) -> int | None:
        """The newest ``modified`` of this entity stored, else of any entity: what the server's
        clock said lately (ours may be far off: the simulator's clock is not the wall clock)."""
        own = self._newest()
        if own is not None:
            return own
        return max((n for n in (self._newest(t) for t in MAIN_TABLE.values()) if n is not None), default=None)

    def _newest(self, table: Table | None = None) -> int | None:
        table = table or MAIN_TABLE[self.entity]
        value = self.wh.sql(f'SELECT max(_modified_ms) AS m FROM "{table.staging}"').item()
        return int(value) if value is not None else None

    # --- storing ---------------------------------------------------------------------------

    def _ahead(self, pages: Iterator[RawPage]) -> PreparedAhead:
        return PreparedAhead(pages, lambda body: self.wh.prepare(self.entity, body), name=self.entity)

    def _store(self, plan: Plan, page: RawPage | Ready, current: Pass | None = None) -> None:
        """One page and the plan as cursor, in one transaction (an empty page only marks)."""
        ready, page = (page, page.page) if isinstance(page, Ready) else (None, page)
        if page.count == 0:
            self._mark(plan)
            return
        request = request_of(page, phase=plan.phase, plan=plan.plan_id, **{"pass": current.number if current else None})
        body = ready.prepared() if ready is not None else page.body  # prepared: a page with records
        counts = self.wh.ingest(self.run_id, self.entity, body, request, {"cursor": plan.cursor()},
                                fetched_at=page.fetched_at)
        self._unsaved = 0
        self._changed += account(self.result, counts)
        self.emit("page", self.entity, records=counts.records)

    def _mark(self, plan: Plan) -> None:
        """The cursor moved without a page to carry it: it waits, up to :data:`MAX_UNSAVED` times."""
        self._unsaved += 1
        if self._unsaved >= MAX_UNSAVED:
            checkpoint(self.wh, self.run_id, self.entity, {"cursor": plan.cursor()}, "windows")
            self._unsaved = 0


__all__ = ["EMPTY_PAGE", "MAIN_TABLE", "MAX_UNSAVED", "EntitySync", "account", "checkpoint", "request_of"]
