"""A listing's pages made ready to store on a second thread while the lane stores the one before.

Storing a page is two halves: :meth:`Warehouse.prepare` decodes, hashes and compresses it (CPU,
mostly holding the GIL), and :meth:`Warehouse.ingest` writes it (DuckDB, under the warehouse's
lock). A lane doing both in turn held the warehouse lock while it decoded, and the other lanes
waited. Both halves still need the GIL for much of their time (DuckDB's Python layer takes it
at every statement: a lane's writes took 62.6 ms a demo page alone, 170 ms beside a decoding
thread), so the gain is the overlap that is left (bench/README, sixth round). Here a worker thread takes the pages from the
listing, prepares each and reads its :class:`~.passes.Ref` s, at most :data:`DEPTH` pages ahead;
the lane stores them in the order the listing gave them, so nothing about what is stored, or
when the state advances, changes.

An error of the listing (a refused request, a server that keeps failing) comes out where the
page after the last good one would have, and a page that is not a Blaze page raises when its
turn comes: exactly where the lane met them before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..blaze.client import RawPage
from .passes import Ref, refs
from .warehouse import Prepared

#: pages prepared and waiting for the lane (plus the one being prepared, plus the one it stores)
DEPTH = 1
_END = object()


@dataclass(frozen=True)
class Ready:
    """One page of the listing with its records' refs, and its prepared form (or why it has none)."""

    page: RawPage
    #: the records' :class:`~.passes.Ref` s (or the decoded records, which have their attributes)
    refs: list[Ref]
    _prepared: Prepared | None
    _error: BaseException | None = None

    def prepared(self) -> Prepared | None:
        """The prepared page (``None`` for a page without records); raises the decode's error."""
        if self._error is not None:
            raise self._error
        return self._prepared


class PreparedAhead:
    """Iterates the :class:`Ready` pages of ``pages``; :meth:`close` stops the worker, then the listing."""

    def __init__(self, pages: Iterator[RawPage], prepare: Callable[[bytes], Prepared], name: str = "prepare") -> None:
        self._pages = pages
        self._prepare = prepare
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=DEPTH)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=f"{name}-ahead", daemon=True)
        self._thread.start()

    def _ready(self, page: RawPage) -> Ready:
        if not page.count:
            return Ready(page, [], None)
        try:
            prepared = self._prepare(page.body)
        except Exception as exc:  # raised in the lane, at this page's turn
            return Ready(page, refs(page.body), None, exc)
        found = prepared.decoded.refs  # read with the records when the page decoded in one call
        return Ready(page, refs(page.body) if found is None else found, prepared)

    def _work(self) -> None:
        try:
            for page in self._pages:
                if not self._put(self._ready(page)):
                    return
            self._put(_END)
        except BaseException as exc:  # the listing's own error: handed over in order
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Ready]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop preparing (what was prepared ahead is dropped), then close the listing."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
        self._thread.join()
        close = getattr(self._pages, "close", None)
        if close is not None:
            close()


__all__ = ["DEPTH", "PreparedAhead", "Ready"]
