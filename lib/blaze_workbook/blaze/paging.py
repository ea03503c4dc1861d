"""Paging and date-window state: small objects with one method that advances them.

Offset paging: the API caps pages at 100 whatever ``limit`` asks for, so the offset advances by
the number of records *received*, and listing stops on an empty page or once the offset reaches
``total`` [COMM, API.md §2]. Date windows: ranges are cut into windows of at most 7 calendar days
(``/transactions`` refuses more), the end is frozen when the stepper is built so a run does not
chase records arriving while it runs, and consecutive windows may overlap so late edits near a
boundary are read twice rather than missed (the sync layer upserts by ``id``).

Both objects refuse to hand out the same token twice: a repeated offset or window would mean a
loop that never ends or silently re-reads data, so it raises :class:`InvestigateError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from ..errors import ConfigurationError, InvestigateError
from .endpoints import PAGE_LIMIT, DateFormat, EndpointSpec, Paging

DAY_MS = 86_400_000
#: the shop's time zone in the simulator; real shops carry theirs in ``Shop.timeZone``
DEFAULT_SHOP_TZ = "America/Los_Angeles"


# --------------------------------------------------------------------------- offset paging


@dataclass
class OffsetPaginator:
    """Offset paging state for one listing (one endpoint, one window).

    ``param`` is ``"skip"`` or ``"start"`` (per endpoint), or ``None`` for an endpoint that is
    read in a single request.
    """

    param: str | None = "skip"
    limit: int = PAGE_LIMIT
    skip: int = 0
    total: int | None = None
    done: bool = False
    pages: int = 0
    #: the last page held ``limit`` records (so the next ones are likely full too)
    full: bool = False
    _issued: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.param not in ("skip", "start", None):
            raise ConfigurationError(f"paging parameter must be 'skip', 'start' or None, not {self.param!r}")
        if not 1 <= self.limit <= PAGE_LIMIT:
            raise ConfigurationError(f"page limit must be between 1 and {PAGE_LIMIT}, not {self.limit}")

    @classmethod
    def for_spec(cls, spec: EndpointSpec) -> OffsetPaginator:
        """The paginator an endpoint needs."""
        param = None if spec.paging is Paging.NONE else spec.paging.value
        return cls(param=param, limit=spec.page_limit)

    def params(self) -> dict[str, str]:
        """Query parameters of the next request; records the offset as issued."""
        if self.done:
            raise InvestigateError("paginator asked for a page after the listing ended")
        if self.param is None:
            return {}
        if self.skip in self._issued:
            raise InvestigateError(f"paginator would repeat {self.param}={self.skip}")
        self._issued.add(self.skip)
        return {self.param: str(self.skip), "limit": str(self.limit)}

    def advance(self, received: int, total: int | None = None, served_limit: int | None = None) -> bool:
        """Account for a page of ``received`` records; return ``True`` while more pages remain.

        ``total`` is the envelope's count (it may change between pages while records move);
        ``served_limit`` is the page size the server applied, used only when there is no total.
        """
        if self.done:
            raise InvestigateError("paginator advanced after the listing ended")
        if received < 0:
            raise InvestigateError(f"a page cannot hold {received} records")
        self.pages += 1
        self.skip += received
        self.full = received >= self.limit
        if total is not None:
            self.total = total
        if self.param is None or received == 0:
            self.done = True
        elif self.total is not None:
            self.done = self.skip >= self.total
        else:
            self.done = received < (served_limit or self.limit)
        return not self.done

    def ahead(self, depth: int) -> list[dict[str, str]]:
        """Query parameters of up to ``depth`` pages from the next one on, as if each came back
        full: what a client may fetch ahead of time once ``total`` is known. Nothing is issued
        (:meth:`params` still issues each offset when its page is taken). Empty while the total
        is unknown or after a short page: records are moving, one page at a time then."""
        if self.done or self.param is None or self.total is None or not self.full:
            return []
        offsets = range(self.skip, self.total, self.limit)
        return [{self.param: str(skip), "limit": str(self.limit)} for skip in offsets[:max(0, depth)]]


# --------------------------------------------------------------------------- date windows


@dataclass(frozen=True, order=True)
class MillisWindow:
    """Epoch-millisecond bounds, both inclusive (members, products/modified)."""

    start_ms: int
    end_ms: int

    @property
    def span_ms(self) -> int:
        return self.end_ms - self.start_ms + 1

    def params(self) -> dict[str, str]:
        return {"startDate": str(self.start_ms), "endDate": str(self.end_ms)}

    def __str__(self) -> str:
        return f"{self.start_ms}..{self.end_ms}"


@dataclass(frozen=True, order=True)
class DayWindow:
    """Shop-local calendar days, both inclusive, sent as ``MM/dd/yyyy`` (transactions, vendors)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def params(self) -> dict[str, str]:
        return {"startDate": self.start.strftime("%m/%d/%Y"), "endDate": self.end.strftime("%m/%d/%Y")}

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


Window = MillisWindow | DayWindow


def local_day(moment: datetime | int, tz: str | tzinfo = DEFAULT_SHOP_TZ) -> date:
    """The shop-local calendar day of an instant (a tz-aware datetime or epoch ms)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if isinstance(moment, int):
        return datetime.fromtimestamp(moment / 1000, zone).date()
    if moment.tzinfo is None:
        raise ConfigurationError("a naive datetime has no time zone; pass an aware one")
    return moment.astimezone(zone).date()


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if moment.tzinfo is None:
        raise ConfigurationError("a naive datetime has no time zone; pass an aware one")
    return int(moment.timestamp() * 1000)


class WindowStepper:
    """Cuts a frozen range ``[start, end]`` (inclusive) into windows of at most ``max_days``.

    Units are days for :class:`DayWindow` and milliseconds for :class:`MillisWindow`.
    Each window after the first starts ``overlap`` units before the previous one ended + 1, so
    consecutive windows share exactly ``overlap`` units and nothing in the range is skipped.
    """

    def __init__(self, start: int | date, end: int | date, *, max_days: int = 7, overlap: int = 0) -> None:
        if isinstance(start, datetime) or isinstance(end, datetime) or type(start) is not type(end):
            raise ConfigurationError("window start and end must both be dates or both epoch ms")
        self._days = isinstance(start, date)
        # integer units internally: day ordinals or milliseconds
        lo = start.toordinal() if isinstance(start, date) else int(start)
        hi = end.toordinal() if isinstance(end, date) else int(end)
        if hi < lo:
            raise ConfigurationError(f"window range ends ({end}) before it starts ({start})")
        if max_days < 1:
            raise ConfigurationError(f"max_days must be at least 1, not {max_days}")
        self.size = max_days if self._days else max_days * DAY_MS
        if not 0 <= overlap < self.size:
            raise ConfigurationError(f"overlap must be between 0 and {self.size - 1} units, not {overlap}")
        self.start = start
        self.end = end  # frozen at construction: the run never chases a moving "now"
        self.max_days = max_days
        self.overlap = overlap
        self._lo, self._hi = lo, hi
        self._next: int | None = lo
        self._issued: set[int] = set()

    @property
    def done(self) -> bool:
        return self._next is None

    @classmethod
    def epoch_ms(cls, start_ms: int, end_ms: int, *, max_days: int = 7, overlap_ms: int = 0) -> WindowStepper:
        return cls(int(start_ms), int(end_ms), max_days=max_days, overlap=overlap_ms)

    @classmethod
    def days(cls, start: date, end: date, *, max_days: int = 7, overlap_days: int = 0) -> WindowStepper:
        return cls(start, end, max_days=max_days, overlap=overlap_days)

    @classmethod
    def for_spec(
        cls,
        spec: EndpointSpec,
        start: datetime,
        end: datetime,
        *,
        tz: str | tzinfo = DEFAULT_SHOP_TZ,
        overlap: timedelta = timedelta(0),
    ) -> WindowStepper:
        """Windows in the endpoint's own date format for the instants ``[start, end]``."""
        if spec.date_format is DateFormat.NONE or spec.max_window_days is None:
            raise ConfigurationError(f"endpoint {spec.name!r} takes no date range")
        if spec.date_format is DateFormat.EPOCH_MS:
            overlap_ms = int(overlap.total_seconds() * 1000)
            return cls.epoch_ms(to_ms(start), to_ms(end), max_days=spec.max_window_days, overlap_ms=overlap_ms)
        return cls.days(
            local_day(start, tz), local_day(end, tz), max_days=spec.max_window_days, overlap_days=overlap.days
        )

    def advance(self) -> Window | None:
        """The next window, or ``None`` once the range is covered."""
        lo = self._next
        if lo is None:
            return None
        if lo in self._issued:
            raise InvestigateError(f"window stepper would repeat the window starting at {lo}")
        self._issued.add(lo)
        hi = min(lo + self.size - 1, self._hi)
        self._next = None if hi >= self._hi else hi + 1 - self.overlap
        if self._days:
            return DayWindow(date.fromordinal(lo), date.fromordinal(hi))
        return MillisWindow(lo, hi)

    def __iter__(self) -> Iterator[Window]:
        while (window := self.advance()) is not None:
            yield window

    def windows(self) -> list[Window]:
        """All remaining windows (for handing to parallel workers)."""
        return list(self)


__all__ = [
    "DEFAULT_SHOP_TZ",
    "DayWindow",
    "MillisWindow",
    "OffsetPaginator",
    "Window",
    "WindowStepper",
    "local_day",
    "to_ms",
]
