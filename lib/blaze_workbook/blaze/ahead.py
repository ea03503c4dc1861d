"""Pages of one listing fetched ahead of their turn, handed out in offset order.

Offset paging is sequential (the next offset is the number of records received), so a window of
many pages keeps one connection busy while the others idle whenever few windows are left: the end
of a fill, a tail pass, the one week in which most members were edited. Once a page came back
full and the envelope said ``total``, the offsets of the rest are known if every page is full,
which they are unless records move while we page (the API caps pages at 100, never less). Those
pages are requested at once, at most ``depth`` ahead, and handed out in offset order, so the
listing reads exactly as it would one page at a time.

A page asked for at an offset that was not planned (an earlier page came back short: records
moved) means the plan was wrong: every page fetched ahead is dropped and paging goes on one page
at a time from the real offset. The calls spent on dropped pages are the price of records moving
while we page, which the pass logic (``sync/passes.py``) already answers by listing the window
again; with nothing moving, a listing makes exactly the calls it would make one page at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from .pages import Params, RawPage


class Ahead:
    """The pages of one listing on their way before their turn, by query."""

    def __init__(self, fetch: Callable[[Params], RawPage], depth: int) -> None:
        self._fetch = fetch
        self.depth = depth
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[Params, Future[RawPage]] = {}
        #: pages fetched ahead and then dropped (records moved while we paged)
        self.dropped = 0

    def take(self, query: Params) -> RawPage | None:
        """The page fetched ahead for ``query`` (its error raised here), or ``None``: then none
        of the pages fetched ahead is what comes next, and all of them are dropped."""
        future = self._pending.pop(query, None)
        if future is None:
            self._drop()
            return None
        return future.result()

    def plan(self, queries: Iterable[Params]) -> None:
        """Fetch ``queries`` ahead (those not on their way yet), at most ``depth`` unclaimed."""
        for query in queries:
            if len(self._pending) >= self.depth:
                return
            if query in self._pending:
                continue
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.depth, thread_name_prefix="blaze-ahead")
            self._pending[query] = self._pool.submit(self._fetch, query)

    def close(self) -> None:
        """Drop what was not taken and wait for the calls already made (they hold connections)."""
        self._drop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _drop(self) -> None:
        for future in self._pending.values():
            if future.cancel():
                continue
            self.dropped += 1
            future.exception()  # wait for it: a page dropped must not outlive its listing's call count
        self._pending.clear()


__all__ = ["Ahead"]
