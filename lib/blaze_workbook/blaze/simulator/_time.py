"""Shop-local calendar arithmetic (America/Los_Angeles by default), vectorised where it matters."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

DAY_MS = 86_400_000


@lru_cache(maxsize=8)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def local_midnight_ms(day: dt.date, tz: str) -> int:
    """Epoch milliseconds of 00:00 shop-local time on ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=_zone(tz)).timestamp() * 1000)


def utc_offsets_ms(first_day: dt.date, n_days: int, tz: str) -> np.ndarray:
    """UTC offset (ms, negative west of Greenwich) at local noon of ``n_days`` days from ``first_day``.

    Opening hours never straddle a DST switch (02:00), so noon's offset holds for the whole day.
    """
    zone = _zone(tz)
    out = np.empty(n_days, dtype=np.int64)
    for i in range(n_days):
        d = first_day + dt.timedelta(days=i)
        off = dt.datetime(d.year, d.month, d.day, 12, tzinfo=zone).utcoffset()
        out[i] = int(off.total_seconds() * 1000) if off is not None else 0
    return out
