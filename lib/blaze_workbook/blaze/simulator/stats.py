"""What the simulator saw: calls per endpoint and status, 429s, the busiest window, bytes.

Tests and benchmarks read these numbers to check a client's behaviour (did it stay under the
call cap, did it back off, how much did it fetch) without trusting the client's own account.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

from .faults import BAD_RECORD_KINDS
from .ratelimit import Clock

DRIFT_KINDS = ("extra_field", "unknown_enum", "int_for_string", "missing_field")


class Stats:
    """Thread-safe counters; :meth:`snapshot` returns a JSON-ready dict."""

    def __init__(self, window_seconds: float = 300.0, clock: Clock = time.monotonic) -> None:
        self.window_seconds = float(window_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything counted so far (``POST /_sim/reset-stats``)."""
        with self._lock:
            self._calls = 0
            self._by_endpoint: dict[str, Counter[str]] = {}
            self._by_status: Counter[str] = Counter()
            self._bytes = 0
            self._window: deque[float] = deque()
            self._max_in_window = 0
            self._accepted = 0
            self._rate_limited = 0
            self._faults: Counter[str] = Counter()
            self._drift: Counter[str] = Counter({k: 0 for k in DRIFT_KINDS})
            self._moves: Counter[str] = Counter({"moved": 0, "inserted": 0})
            self._live_events = 0
            #: broken records per kind and per ``entity:kind`` as served (a record served twice counts
            #: twice), and which records
            self._bad: Counter[str] = Counter({k: 0 for k in BAD_RECORD_KINDS})
            self._bad_served: Counter[str] = Counter()
            self._bad_records: set[tuple[str, str, str]] = set()

    def accepted(self) -> None:
        """A call passed the rate limiter: it counts towards the busiest-window figure."""
        with self._lock:
            now = self._clock()
            self._accepted += 1
            self._window.append(now)
            edge = now - self.window_seconds
            while self._window and self._window[0] <= edge:
                self._window.popleft()
            self._max_in_window = max(self._max_in_window, len(self._window))

    def response(self, endpoint: str, status: int | str, nbytes: int) -> None:
        """A response went out with ``nbytes`` of body; ``status`` ``"cut"`` for a dropped one."""
        with self._lock:
            self._calls += 1
            self._by_endpoint.setdefault(endpoint, Counter())[str(status)] += 1
            self._by_status[str(status)] += 1
            self._bytes += nbytes

    def rate_limited(self) -> None:
        """The rate limiter refused a call (a real 429, not an injected one)."""
        with self._lock:
            self._rate_limited += 1

    def fault(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self._faults[kind] += n

    def drift(self, counts: Counter[str]) -> None:
        with self._lock:
            self._drift.update(counts)

    def bad_records(self, broken: list[tuple[str, str, str]]) -> None:
        """Records sent broken: ``(entity, id, kind)`` each."""
        with self._lock:
            self._bad.update(kind for _, _, kind in broken)
            self._bad_served.update(f"{entity}:{kind}" for entity, _, kind in broken)
            self._bad_records.update(broken)

    def move(self, inserted: bool) -> None:
        with self._lock:
            self._moves["inserted" if inserted else "moved"] += 1

    def live_events(self, n: int) -> None:
        with self._lock:
            self._live_events += n

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            edge = now - self.window_seconds
            current = sum(1 for t in self._window if t > edge)
            return {
                "calls": self._calls,
                "accepted": self._accepted,
                "by_endpoint": {k: dict(v) for k, v in sorted(self._by_endpoint.items())},
                "by_status": dict(sorted(self._by_status.items())),
                "sent_429": self._by_status.get("429", 0),
                "rate_limited": self._rate_limited,
                "window_seconds": self.window_seconds,
                "max_calls_in_window": self._max_in_window,
                "calls_in_current_window": current,
                "bytes": self._bytes,
                "faults": dict(sorted(self._faults.items())),
                "drift": dict(self._drift),
                "moves": dict(self._moves),
                "live_events": self._live_events,
                "bad_records": dict(self._bad),
                "bad_records_served": dict(sorted(self._bad_served.items())),
                "bad_record_ids": [list(b) for b in sorted(self._bad_records)],
            }
