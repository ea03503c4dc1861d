"""The client-side call budget, shared by every thread of a run.

BLAZE caps a partner key at 10,000 calls per 5 minutes and may *disable* a key that exceeds it
[RULES], so the client never relies on 429s to slow down: it keeps its own sliding window at a
fraction (default 90 %) of the cap and waits for a slot before each call.

A slot is held from the moment a call is allowed until its response is in, and the window
counts it at the *completion* time. The server counts a call at its arrival, which lies between
the two, so however long requests travel the server never sees more than the budget in any
window of its own. A 429 with ``Retry-After`` pauses every thread until that time has passed.

A small class rather than ``pyrate-limiter``: we need a sleep and a clock injected for tests
(its blocking wait sleeps on its own), slots held across a call, and a shared pause on 429.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import ConfigurationError

Clock = Callable[[], float]
Sleep = Callable[[float], None]

#: the documented cap [RULES]: calls per window, window seconds
API_CALLS = 10_000
API_SECONDS = 300.0
#: how long to wait when every slot is held by a call still in flight
_POLL = 0.05


class CallBudget:
    """At most ``floor(calls * budget_fraction)`` calls in any ``seconds``-long window."""

    def __init__(
        self,
        calls: int = API_CALLS,
        seconds: float = API_SECONDS,
        *,
        budget_fraction: float = 0.9,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if calls < 1 or seconds <= 0 or not 0 < budget_fraction <= 1:
            raise ConfigurationError(
                f"call budget needs calls >= 1, seconds > 0 and 0 < fraction <= 1 "
                f"(got {calls}, {seconds}, {budget_fraction})"
            )
        self.capacity = max(1, int(calls * budget_fraction))
        self.seconds = float(seconds)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._done: list[float] = []  # heap of completion times still inside the window
        self._in_flight = 0
        self._paused_until = float("-inf")
        #: the most slots ever held at once (completed in the window + in flight)
        self.max_used = 0
        #: total seconds threads spent waiting for a slot or a pause
        self.waited = 0.0

    def acquire(self) -> float:
        """Block until a slot is free and take it; returns the seconds waited.

        Every :meth:`acquire` must be followed by one :meth:`release` (use :meth:`slot`).
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                if now < self._paused_until:
                    wait = self._paused_until - now
                elif len(self._done) + self._in_flight < self.capacity:
                    self._in_flight += 1
                    self.max_used = max(self.max_used, len(self._done) + self._in_flight)
                    self.waited += waited
                    return waited
                elif self._done:
                    wait = self._done[0] + self.seconds - now
                else:
                    wait = _POLL
            wait = max(wait, 1e-3)
            self._sleep(wait)
            waited += wait

    def release(self) -> None:
        """The call taken with :meth:`acquire` is over: it counts in the window from now."""
        with self._lock:
            if self._in_flight <= 0:
                raise RuntimeError("CallBudget.release() without acquire()")
            self._in_flight -= 1
            heapq.heappush(self._done, self._clock())

    @contextmanager
    def slot(self) -> Iterator[float]:
        """``with budget.slot():`` around one API call; yields the seconds waited."""
        waited = self.acquire()
        try:
            yield waited
        finally:
            self.release()

    def pause(self, seconds: float) -> None:
        """Hold every thread for ``seconds`` from now (the API said ``Retry-After``)."""
        if seconds <= 0:
            return
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def used(self) -> int:
        """Slots counted now: calls completed inside the window plus calls in flight."""
        with self._lock:
            self._expire(self._clock())
            return len(self._done) + self._in_flight

    def _expire(self, now: float) -> None:
        edge = now - self.seconds
        while self._done and self._done[0] <= edge:
            heapq.heappop(self._done)

    def __repr__(self) -> str:
        return f"CallBudget(capacity={self.capacity}, seconds={self.seconds:g}, used={self.used()})"


__all__ = ["API_CALLS", "API_SECONDS", "CallBudget"]
