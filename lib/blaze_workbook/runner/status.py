"""``blaze-workbook status``: where the workbook stands, read without changing anything.

Run history comes from ``reports/*/run.json``. Watermarks, API usage, staging and quarantine
counts come from the sync warehouse (``<home>/warehouse.duckdb``), opened read-only; every table
is optional, so ``status`` works on a fresh home, before the first sync, and while a sync holds
the warehouse (it then says so instead of failing).

TODO(sync warehouse): the table layouts are read defensively by column-name candidates below
(:data:`_TIME_COLUMNS` and friends). Once ``sync/warehouse.py`` settles its schema, replace the
guessing with its names (or a ``warehouse.status_figures()`` function) and count Postgres
staging tables too when ``DATABASE_URL`` is reachable.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .index import load_runs
from .params import SECTIONS

WAREHOUSE = "warehouse.duckdb"
#: Blaze billing tiers: monthly calls included, dollars per month (API.md §4 [RULES])
TIERS: tuple[tuple[int, int], ...] = ((250_000, 100), (1_500_000, 250), (10_000_000, 500))
#: the agreement's cap per partner key
CALLS_PER_5_MIN = 10_000

_TIME_COLUMNS = ("at", "ts", "time", "called_at", "at_ms", "started_at", "start", "started",
                 "created_at", "timestamp", "run_started")
_CALL_COLUMNS = ("calls", "api_calls", "count", "n_calls")
_ENTITY_COLUMNS = ("entity", "stream", "name", "key", "table_name", "table", "source")
_WATERMARK_COLUMNS = ("watermark", "watermark_ms", "high_watermark", "modified_ms", "last_modified",
                      "cursor", "value")
_REASON_COLUMNS = ("reason", "error", "kind")


@dataclass(frozen=True)
class ApiUsage:
    """Calls counted in the current 5-minute window, today (UTC), this month, and projected."""

    window_5min: int
    today: int
    month: int
    projected_month: int
    source: str

    @property
    def tier(self) -> str:
        for calls, dollars in TIERS:
            if self.projected_month <= calls:
                return f"{calls:,} calls (${dollars}/month)"
        calls, dollars = TIERS[-1]
        return f"over {calls:,} calls: ${dollars}/month plus overage"


@dataclass
class StatusReport:
    """Everything ``status`` prints; ``None`` figures are unavailable (see ``notes``)."""

    home: Path
    now: dt.datetime
    last_runs: dict[str, dict[str, Any] | None]
    watermarks: list[tuple[str, str, str]] | None = None
    api: ApiUsage | None = None
    staging: list[tuple[str, int]] | None = None
    quarantine: list[tuple[str, str, int]] | None = None
    notes: list[str] = field(default_factory=list)


def age(moment: dt.datetime | None, now: dt.datetime) -> str:
    """``3d 4h``, ``12m``: how long ago ``moment`` was."""
    if moment is None:
        return "?"
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return "in the future"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def as_utc(value: Any) -> dt.datetime | None:
    """A timestamp from epoch seconds/milliseconds, a datetime, a date or an ISO string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) > 1e11 else value
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    try:
        return as_utc(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def project_month(month_calls: int, now: dt.datetime) -> int:
    """This month's calls extrapolated over the whole month (at least one day elapsed)."""
    days = calendar.monthrange(now.year, now.month)[1]
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elapsed_days = max((now - start).total_seconds() / 86_400, 1.0)
    return round(month_calls * days / elapsed_days)


def usage_from_events(events: list[tuple[dt.datetime, int]], now: dt.datetime, source: str) -> ApiUsage:
    """Sum ``(time, calls)`` events into the windows ``status`` shows."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month_start = day.replace(day=1)
    window = now - dt.timedelta(minutes=5)
    month = sum(c for t, c in events if month_start <= t <= now)
    return ApiUsage(
        window_5min=sum(c for t, c in events if window <= t <= now),
        today=sum(c for t, c in events if day <= t <= now),
        month=month,
        projected_month=project_month(month, now),
        source=source,
    )


def collect_status(home: Path, *, now: dt.datetime | None = None) -> StatusReport:
    """Read run records and the warehouse into a :class:`StatusReport`."""
    now = now or dt.datetime.now(dt.UTC)
    runs = load_runs(home)
    last: dict[str, dict[str, Any] | None] = {name: None for name in SECTIONS}
    for run in runs:  # newest first
        name = str(run.get("notebook") or "?")
        if last.get(name) is None:
            last[name] = run
    report = StatusReport(home=home, now=now, last_runs=last)
    path = home / WAREHOUSE
    if path.is_file():
        from .warehouse_figures import read_warehouse

        read_warehouse(path, report)
    else:
        report.notes.append(f"no warehouse yet ({path.name} appears after the first sync)")
    if report.api is None:
        events = [
            (t, c) for r in runs
            if (t := as_utc(r.get("start"))) and isinstance(c := (r.get("key_figures") or {}).get("api_calls"), int)
        ]
        report.api = usage_from_events(events, now, "run records (key figure api_calls)")
    return report
