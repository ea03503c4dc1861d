"""Entities synced side by side in lanes, a thread each, stopped together when one of them fails.

A latency-bound sync spends most of its time waiting for answers, and one entity after another
leaves the connections idle while a transaction page is stored (it costs more of our CPU than
its call took) and our CPU idle while members and products come back as near-empty windows.
Listing members and products while the transaction pages are being stored hides one behind the
other (a tiny backfill at 200 ms per call: 18.5 s one after another, 13-14 s in lanes). The
entities share nothing but the client (its connection pool caps the calls in flight, whoever
makes them) and the warehouse (its lock makes each page's transaction whole, and each entity
keeps its own state row, so a run killed anywhere still leaves every entity a plan to resume).

A thread cannot be killed, so the others are asked to stop: :meth:`Crew.check` raises
:class:`Stopped` in them at their next page once one has failed, or once the caller was
interrupted (``KeyboardInterrupt``), and the caller waits for all of them before it raises.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import TypeVar

T = TypeVar("T")


class Stopped(Exception):  # noqa: N818 - not an error of its own: another entity's error stops this one
    """Raised in an entity's thread after another entity failed or the run was interrupted."""


class Crew:
    """Runs named pieces of work in threads of their own and collects their results."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def check(self) -> None:
        """Raise :class:`Stopped` once the run is stopping (call it between pages)."""
        if self._stop.is_set():
            raise Stopped("stopped: another entity failed or the run was interrupted")

    def run(self, work: Mapping[str, Callable[[], T]]) -> dict[str, T]:
        """Every piece of ``work`` at once; their results by name, in ``work``'s order.

        The first exception (other than :class:`Stopped`) stops the others and is raised once
        every thread has ended; so is an interruption of the calling thread."""
        if len(work) <= 1:
            return {name: job() for name, job in work.items()}
        pool = ThreadPoolExecutor(max_workers=len(work), thread_name_prefix="sync-entity")
        try:
            futures = {name: pool.submit(job) for name, job in work.items()}
            done, _ = wait(futures.values(), return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                self._stop.set()
            wait(futures.values())
        except BaseException:
            self._stop.set()
            raise
        finally:
            pool.shutdown(wait=True)
        failure = _first_failure(futures.values())
        if failure is not None:
            raise failure
        return {name: future.result() for name, future in futures.items()}


#: entities synced in turn within a lane, lanes side by side. Transactions have a lane of their
#: own: their pages cost the most CPU to store, so they get half the connections from the start
#: and their storing begins at once; members and products (mostly near-empty windows) share the
#: other half, in turn, and take the connections the transactions leave while being stored.
LANES: tuple[tuple[str, ...], ...] = (("transactions",), ("members", "products"))


def lanes(work: Mapping[str, Callable[[], T]], order: Iterable[Iterable[str]] = LANES) -> dict[str, Callable[[], list[T]]]:
    """``work`` by entity grouped into lanes (an entity in no lane gets one of its own): each
    lane runs its entities in turn and returns their results in that order."""
    grouped = [[name for name in lane if name in work] for lane in order]
    placed = {name for lane in grouped for name in lane}
    grouped += [[name] for name in work if name not in placed]
    return {"+".join(lane): partial(_in_turn, [work[name] for name in lane]) for lane in grouped if lane}


def _in_turn(jobs: list[Callable[[], T]]) -> list[T]:
    return [job() for job in jobs]


def _first_failure(futures: Iterable[Future[T]]) -> BaseException | None:
    """The error that stopped the crew (a :class:`Stopped` only when nothing else failed)."""
    errors = [error for error in (f.exception() for f in futures) if error is not None]
    real = [e for e in errors if not isinstance(e, Stopped)]
    return (real or errors or [None])[0]


__all__ = ["LANES", "Crew", "Stopped", "lanes"]
