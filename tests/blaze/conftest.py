"""Fixtures for the Blaze client tests: a fake clock whose sleep moves time instead of waiting."""

from __future__ import annotations

import threading

import pytest


class FakeClock:
    """``clock()`` reads the fake time; ``sleep(s)`` records ``s`` and moves time forward."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()
