"""Query-parameter parsing for the simulator, with the Blaze quirks the docs describe.

Every function takes the raw query (a mapping of strings) and returns plain values, or raises
:class:`~blaze_workbook.errors.BadRequestError`; the app turns that into
``400 {"error": "Bad Request", "message": ..., "status": 400}``.

Choices where the real API is undocumented (see ``docs/simulator.md``): ``MM/dd/yyyy`` days are
shop-local and both ends inclusive; epoch-ms bounds are inclusive; a single epoch-ms or
``MM/dd/yyyy`` bound is an open-ended range on every endpoint except ``/transactions``, which
wants both dates or none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from ...errors import BadRequestError

#: the effective page size cap, and the default ``limit``
MAX_LIMIT = 100
#: the longest ``/transactions`` range, in days covered (both ends inclusive)
MAX_TRANSACTION_DAYS = 7
RANGE_TOO_LONG = "Date range cannot exceed 7 days"

_INT = re.compile(r"^[+-]?\d{1,19}$")
_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_SYNONYM = {"skip": "start", "start": "skip"}


@dataclass(frozen=True)
class Paging:
    """Offset and page size after defaults and the cap; ``limit`` is what the envelope echoes."""

    skip: int
    limit: int


@dataclass(frozen=True)
class MsRange:
    """Inclusive epoch-ms bounds; ``None`` is open."""

    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True)
class DayRange:
    """Inclusive shop-local days; ``None`` is open."""

    start_day: date | None = None
    end_day: date | None = None


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message)


def _int(name: str, raw: str) -> int:
    text = raw.strip()
    if not _INT.match(text):
        raise _bad(f"{name} must be an integer, got {raw[:40]!r}")
    return int(text)


def parse_paging(query: Mapping[str, str], primary: str = "skip") -> Paging:
    """``skip``/``start`` (the documented name wins, its synonym is accepted) and ``limit``."""
    if primary not in _SYNONYM:
        raise ValueError(f"paging parameter must be 'skip' or 'start', not {primary!r}")
    name = primary if primary in query else _SYNONYM[primary]
    skip = _int(name, query[name]) if name in query else 0
    if skip < 0:
        raise _bad(f"{name} must be >= 0")
    limit = _int("limit", query["limit"]) if "limit" in query else MAX_LIMIT
    if limit < 1:
        raise _bad("limit must be >= 1")
    return Paging(skip=skip, limit=min(limit, MAX_LIMIT))


def parse_bool(query: Mapping[str, str], name: str) -> bool | None:
    """``true``/``false`` (any case, also ``1``/``0``); absent or empty is ``None``."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise _bad(f"{name} must be true or false, got {raw[:40]!r}")


def parse_day(name: str, raw: str) -> date:
    """One ``MM/dd/yyyy`` day."""
    match = _DAY.match(raw.strip())
    if not match:
        raise _bad(f"{name} must be a date as MM/dd/yyyy, got {raw[:40]!r}")
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise _bad(f"{name} is not a valid date: {raw[:40]!r}") from exc


def _ordered(start: object, end: object) -> None:
    if start is not None and end is not None and end < start:  # type: ignore[operator]
        raise _bad("endDate must not be before startDate")


def parse_ms_range(query: Mapping[str, str]) -> MsRange:
    """``startDate``/``endDate`` as epoch milliseconds (members, products/modified)."""
    start = _int("startDate", query["startDate"]) if query.get("startDate") else None
    end = _int("endDate", query["endDate"]) if query.get("endDate") else None
    _ordered(start, end)
    return MsRange(start, end)


def parse_day_range(query: Mapping[str, str]) -> DayRange:
    """``startDate``/``endDate`` as ``MM/dd/yyyy`` (vendors)."""
    start = parse_day("startDate", query["startDate"]) if query.get("startDate") else None
    end = parse_day("endDate", query["endDate"]) if query.get("endDate") else None
    _ordered(start, end)
    return DayRange(start, end)


def parse_either_range(query: Mapping[str, str]) -> MsRange | DayRange:
    """``/products``: the swagger says ``MM/dd/yyyy``, the guide says epoch ms; take either.

    Both given bounds must use the same format.
    """
    given = [query[k].strip() for k in ("startDate", "endDate") if query.get(k)]
    if not given:
        return MsRange()
    numeric = [bool(_INT.match(v)) for v in given]
    if all(numeric):
        return parse_ms_range(query)
    if any(numeric):
        raise _bad("startDate and endDate must use the same format (MM/dd/yyyy or epoch ms)")
    return parse_day_range(query)


def local_day(epoch_ms: int, tz: tzinfo) -> date:
    """The shop-local calendar day of an instant."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz).date()


def day_start_ms(day: date, tz: tzinfo) -> int:
    """Epoch ms of the shop-local midnight that starts ``day``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)


def parse_transaction_range(query: Mapping[str, str], now_ms: int, tz: tzinfo) -> DayRange:
    """``/transactions``: both dates or none; at most 7 days covered; none = the last 7 days."""
    has_start, has_end = bool(query.get("startDate")), bool(query.get("endDate"))
    if not has_start and not has_end:
        end = local_day(now_ms, tz)
        return DayRange(end - timedelta(days=MAX_TRANSACTION_DAYS - 1), end)
    if has_start != has_end:
        raise _bad("startDate and endDate must be given together")
    days = parse_day_range(query)
    assert days.start_day is not None and days.end_day is not None
    if (days.end_day - days.start_day).days + 1 > MAX_TRANSACTION_DAYS:
        raise _bad(RANGE_TOO_LONG)
    return days


def require(query: Mapping[str, str], name: str) -> str:
    """A required non-empty string parameter."""
    value = query.get(name, "").strip()
    if not value:
        raise _bad(f"{name} is required")
    return value


def parse_now(text: str) -> int:
    """An ISO-8601 instant (``Z`` or an offset; a naive one is UTC) or epoch ms, for ``--now``."""
    raw = text.strip()
    if _INT.match(raw):
        return int(raw)
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise _bad(f"--now must be an ISO-8601 date-time, got {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
