"""Calendar-day strings, cached (birthdates and ID expiry dates repeat a lot)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


@lru_cache(maxsize=65_536)
def iso_day(day: int) -> str:
    """``YYYY-MM-DD`` of a day number (days since 1970-01-01, UTC)."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
