"""Shared parts of the API-side fault scenarios: a client with small timeouts, the window of a
backfill, and the check of staging against the simulator's truth.

The witness is the simulator: its truth mapped to staging by ``tests/sync/_sync_truth.py``
(written from CONTRACTS §3, not from the product's mapping) and its own statistics. A check
yields a :class:`~._kill.Check` (records verified, losses, duplicates, extra and changed rows)
for the session's tally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from blaze_workbook.blaze.client import BlazeClient
from blaze_workbook.blaze.limiter import CallBudget
from blaze_workbook.blaze.metrics import CallMetrics
from blaze_workbook.blaze.retry import RetryPolicy
from blaze_workbook.config import DEMO_DEVELOPER_KEY, DEMO_PARTNER_KEY, BlazeSettings

from ._kill import Check, sync_truth

TZ = "America/Los_Angeles"
#: the documented limit: 10,000 calls per 300 s and partner key
LIMIT_CALLS, LIMIT_SECONDS = 10_000, 300.0
#: quick retries (the simulator's Retry-After is still honoured); enough attempts for a 5 % mix
FAST = {"backoff_initial": 0.01, "backoff_max": 0.2, "jitter": 0.01, "max_attempts": 12, "max_total_wait": 90}
Rows = dict[str, dict[str, dict[str, Any]]]


def settings(sim: Any) -> BlazeSettings:
    return BlazeSettings(sim.url, DEMO_PARTNER_KEY, DEMO_DEVELOPER_KEY)


def client(sim: Any, *, read_timeout: float = 10.0, concurrency: int = 4) -> BlazeClient:
    """A client on ``sim`` with quick retries, a budget of 90 % of the documented limit and a
    ``read_timeout`` small enough for hung calls to be given up quickly."""
    budget = CallBudget(LIMIT_CALLS, LIMIT_SECONDS, budget_fraction=0.9)
    return BlazeClient(settings(sim), policy=RetryPolicy(budget=budget, **FAST), concurrency=concurrency,
                       connect_timeout=5, read_timeout=read_timeout, metrics=CallMetrics())


def sim_now(sim: Any) -> datetime:
    return datetime.fromtimestamp(sim.dataset.now_ms / 1000, UTC)


def days_back(sim: Any, days: int) -> date:
    """The shop-local day ``days`` before the simulator's now."""
    return (sim_now(sim) - timedelta(days=days)).astimezone(ZoneInfo(TZ)).date()


def expected(sim: Any, since: date) -> Rows:
    """Staging table -> key -> row, as a sync of the simulator's data from ``since`` must store it."""
    t = sync_truth()
    return t.expected(t.in_range(sim.truth(), since))


def check(want: Rows, read: Callable[[str], dict[str, dict[str, Any]]], duplicates: Callable[[str], int], *,
          skip: Iterable[tuple[str, str]] = (), ignore: tuple[str, ...] = ()) -> Check:
    """Every staging table against ``want``: rows lost, extra, changed (cell by cell as CONTRACTS
    §3 allows), duplicated keys. ``skip``: ``(table, key)`` checked elsewhere (neither lost nor extra)."""
    same = sync_truth()._same
    skipped = set(skip)
    total = Check()
    for table, rows in want.items():
        got = read(table)
        lost = [k for k in rows if k not in got and (table, k) not in skipped]
        extra = [k for k in got if k not in rows and (table, k) not in skipped]
        changed = [k for k in rows.keys() & got.keys() if (table, k) not in skipped
                   and any(c not in ignore and not same(v, got[k].get(c, "<absent>")) for c, v in rows[k].items())]
        examples = tuple(f"{table}: {what} {ks[0]!r}" for what, ks in (("lost", lost), ("extra", extra), ("changed", changed)) if ks)
        total = total + Check(len(got), len(lost), duplicates(table), len(extra), len(changed), examples)
    return total


def check_warehouse(want: Rows, wh: Any, **kw: Any) -> Check:
    t = sync_truth()
    return check(want, lambda table: t.warehouse_rows(wh, table), lambda table: _wh_duplicates(wh, table), **kw)


def check_postgres(want: Rows, conninfo: str, **kw: Any) -> Check:
    t = sync_truth()
    return check(want, lambda table: t.pg_rows(conninfo, table), lambda table: _pg_duplicates(conninfo, table), **kw)


def _wh_duplicates(wh: Any, table: str) -> int:
    t = sync_truth()
    name, key = t.STAGING[table], t.KEYS[table]
    return int(wh.sql(f'SELECT count(*) - count(DISTINCT "{key}") AS n FROM "{name}"').item())


def _pg_duplicates(conninfo: str, table: str) -> int:
    t = sync_truth()
    query = sql.SQL("SELECT count(*) - count(DISTINCT {}) FROM {}").format(sql.Identifier(t.KEYS[table]), sql.Identifier(t.STAGING[table]))
    with psycopg.connect(conninfo) as conn:
        return int(conn.execute(query).fetchone()[0])


def injected(stats: dict[str, Any]) -> int:
    """Faults the simulator injected in a run (5xx, 429 bursts, hangs, cuts, broken JSON, spikes)."""
    return int(sum(stats["faults"].values()))


def within_limit(stats: dict[str, Any]) -> bool:
    """The simulator never refused a call for the rate limit, and no 300 s window held more than
    the documented 10,000 calls."""
    return stats["rate_limited"] == 0 and stats["max_calls_in_window"] <= LIMIT_CALLS and stats["window_seconds"] == LIMIT_SECONDS


__all__ = ["FAST", "LIMIT_CALLS", "LIMIT_SECONDS", "TZ", "check", "check_postgres", "check_warehouse", "client", "days_back",
           "expected", "injected", "settings", "sim_now", "within_limit"]
