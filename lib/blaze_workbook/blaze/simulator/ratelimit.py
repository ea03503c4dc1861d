"""The simulator's rate limit: a sliding window of accepted calls per partner key.

[RULES] caps a partner key at 10,000 calls per 5 minutes; the docs give no header, so the
simulator picks one: ``429`` with ``Retry-After`` in whole seconds until a slot frees. Refused
calls do not count. The clock is injected so tests move time by hand instead of sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class SlidingWindowLimiter:
    """At most ``calls`` accepted calls per key in any ``seconds``-long window.

    A call at time ``t`` sees the accepted calls in ``(t - seconds, t]``. ``calls <= 0`` turns
    the limit off.
    """

    def __init__(self, calls: int, seconds: float, clock: Clock = time.monotonic) -> None:
        if seconds <= 0:
            raise ValueError("rate-limit window must be positive")
        self.calls = calls
        self.seconds = float(seconds)
        self._clock = clock
        self._accepted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.calls > 0

    def acquire(self, key: str) -> int | None:
        """Count a call for ``key``: ``None`` when accepted, else the ``Retry-After`` seconds."""
        if not self.enabled:
            return None
        with self._lock:
            now = self._clock()
            window = self._accepted.setdefault(key, deque())
            self._expire(window, now)
            if len(window) < self.calls:
                window.append(now)
                return None
            # the oldest accepted call leaves the window at oldest + seconds
            wait = window[0] + self.seconds - now
            return max(1, math.ceil(wait - 1e-9))

    def used(self, key: str) -> int:
        """Accepted calls of ``key`` in the current window."""
        with self._lock:
            window = self._accepted.get(key)
            if not window:
                return 0
            self._expire(window, self._clock())
            return len(window)

    def _expire(self, window: deque[float], now: float) -> None:
        edge = now - self.seconds
        while window and window[0] <= edge:
            window.popleft()
