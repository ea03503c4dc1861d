"""How often each entity may be pulled: calls are billed, and the partner rules say how often.

The rules [RULES] ask partners to pull members and transactions hourly or nightly and products
no more often than every 5 minutes. An entity whose last *finished* sync is younger than its
cadence is skipped, with a message saying when it is next due; ``force`` overrides. An
unfinished sync (a killed run) is always resumed, whatever the cadence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..errors import ConfigurationError

#: seconds between syncs per entity [RULES]; look-ups (6 calls) are refreshed with every run
#: that syncs an entity unless given a cadence of their own (e.g. 3600)
DEFAULT_CADENCE: dict[str, int] = {"members": 3600, "transactions": 3600, "products": 300, "lookups": 0}


@dataclass(frozen=True)
class Due:
    """Whether ``entity`` is due now, and why."""

    entity: str
    due: bool
    last: datetime | None
    next_due: datetime | None
    message: str


def check_cadence(cadence: Mapping[str, Any] | None) -> dict[str, int]:
    """The cadence per entity in seconds, defaults filled in; a negative value is an error."""
    out = dict(DEFAULT_CADENCE)
    for entity, seconds in (cadence or {}).items():
        try:
            value = int(seconds)
        except (TypeError, ValueError):
            raise ConfigurationError(f"cadence of {entity!r} must be a number of seconds, not {seconds!r}") from None
        if value < 0:
            raise ConfigurationError(f"cadence of {entity!r} must be >= 0 seconds, not {value}")
        out[entity] = value
    return out


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def due(entity: str, last: datetime | None, every_s: int, now: datetime, *, force: bool = False) -> Due:
    """Is ``entity`` due at ``now``, given its last finished sync ``last``?"""
    if last is None:
        return Due(entity, True, None, None, f"{entity}: never synced")
    next_due = last + timedelta(seconds=every_s)
    age = _ago(now - last)
    if now >= next_due:
        return Due(entity, True, last, next_due, f"{entity}: last synced {age} ago (every {_ago(timedelta(seconds=every_s))})")
    when = next_due.strftime("%Y-%m-%d %H:%M:%S UTC")
    if force:
        return Due(entity, True, last, next_due, f"{entity}: synced {age} ago, next due at {when}; forced")
    return Due(
        entity, False, last, next_due,
        f"{entity}: skipped, synced {age} ago (every {_ago(timedelta(seconds=every_s))}); next due at {when} "
        "(force=true syncs now)",
    )


__all__ = ["DEFAULT_CADENCE", "Due", "check_cadence", "due"]
