"""What one entity's sync covers: a frozen range cut into windows, and how far it got.

A :class:`Plan` is the unit a run works through and a killed run resumes: the range
``[lo, hi]`` (epoch milliseconds on ``modified`` for members and products, shop-local day
ordinals for transactions), its windows (at most 7 days each, computed again from the range so
the cursor stays small), the windows already done and the phase (``main``: the range itself;
``tail``: the re-pull of the newest part after a parallel fill, see ``fetch.py``). The plan is
written as the ``cursor`` of the entity's warehouse state with every stored page, in the same
DuckDB transaction as the page, so the state on disk never claims more than is stored.

The end of the range is frozen when the plan is made: a run does not chase records that arrive
while it runs (the next run's overlap picks them up).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from ..blaze.endpoints import EndpointSpec, endpoint
from ..blaze.paging import DayWindow, MillisWindow, Window, WindowStepper, local_day, to_ms
from ..errors import ConfigurationError

#: entity -> the endpoint its windows are read from (API.md §3, §5)
ENTITY_ENDPOINTS: dict[str, str] = {
    "members": "members",  # epoch ms on `modified`, newest first
    "transactions": "transactions",  # MM/dd/yyyy shop-local days on the processing time
    "products": "products_modified",  # epoch ms on `modified` (the documented incremental endpoint)
}
MAIN_ENTITIES: tuple[str, ...] = tuple(ENTITY_ENDPOINTS)
#: entity -> every endpoint it calls (a refund's sale is read again by id)
ENTITY_CALLS: dict[str, tuple[str, ...]] = {
    "members": ("members",), "transactions": ("transactions", "transactions_by_id"), "products": ("products_modified",),
}
#: look-up entities in the order they are refreshed (the shop first: its time zone dates records)
LOOKUP_ENTITIES: tuple[str, ...] = ("store", "employees", "terminals", "vendors", "categories", "brands")
#: what the ``entities`` parameter accepts
ALL_ENTITIES: tuple[str, ...] = (*MAIN_ENTITIES, "lookups")
MODES: tuple[str, ...] = ("incremental", "backfill", "replay")
#: how far back a first sync reaches without ``since``
DEFAULT_HISTORY_YEARS = 5
#: the widest window any listing endpoint accepts [PAG, TXN]
MAX_WINDOW_DAYS = 7
#: where the head window of a members or products fill starts (see :meth:`Plan.windows`)
HEAD_START_MS = 0

Kind = Literal["ms", "days"]
Phase = Literal["main", "tail"]


def check_entities(entities: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The chosen entities in sync order; an unknown name fails listing the valid ones."""
    if entities is None:
        return ALL_ENTITIES
    if isinstance(entities, str):
        entities = [e.strip() for e in entities.split(",") if e.strip()]
    unknown = sorted(set(entities) - set(ALL_ENTITIES))
    if unknown:
        raise ConfigurationError(
            f"unknown entit{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(ALL_ENTITIES)}",
            hint="pass a list such as [members, transactions]",
        )
    return tuple(e for e in ALL_ENTITIES if e in entities)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigurationError(f"unknown sync mode {mode!r}; valid: {', '.join(MODES)}")
    return mode


def parse_since(since: str | date | datetime | None) -> date | None:
    """``since`` as a calendar date (an ISO string, a date or a datetime's date)."""
    if since is None or since == "":
        return None
    if isinstance(since, datetime):
        return since.date()
    if isinstance(since, date):
        return since
    try:
        return date.fromisoformat(str(since).strip()[:10])
    except ValueError:
        raise ConfigurationError(f"since must be an ISO date (YYYY-MM-DD), not {since!r}") from None


def spec_for(entity: str, page_limit: int = 100) -> EndpointSpec:
    """The entity's endpoint, with the page size this run asks for."""
    spec = endpoint(ENTITY_ENDPOINTS[entity])
    return spec if page_limit == spec.page_limit else replace(spec, page_limit=page_limit)


def kind_of(entity: str) -> Kind:
    return "days" if entity == "transactions" else "ms"


def local_midnight_ms(day: date, tz: str) -> int:
    return to_ms(datetime.combine(day, time(0), ZoneInfo(tz)))


@dataclass(frozen=True)
class Plan:
    """One entity's range, its windows and its progress (the warehouse ``cursor``)."""

    entity: str
    #: the run that made the plan (pages of a resumed plan carry it too, in their cursor)
    plan_id: str
    mode: str
    since: str | None
    kind: Kind
    lo: int
    hi: int
    #: windows fetched in parallel (a fill from scratch), then the newest part re-pulled
    parallel: bool
    #: the instant the range was frozen at (caps the watermark)
    end_ms: int
    phase: Phase = "main"
    done: frozenset[int] = field(default_factory=frozenset)
    #: windows given up on after too many unsettled passes, and where the first of them starts
    #: (epoch ms): the watermark stays before it, so the next run reads them again
    unsettled: int = 0
    floor_ms: int | None = None
    #: tail passes made so far
    tail_pass: int = 0
    #: a fill of members or products: window 0 is the head, everything modified before ``lo``
    head: bool = False

    def windows(self) -> list[Window]:
        """The range cut into windows of at most 7 days, oldest first (deterministic).

        With ``head``, window 0 is ``[HEAD_START_MS, lo)``: members and products last changed
        before the fill's start are still customers and catalogue. It is the one window wider
        than 7 days, asked once with the cap lifted (``fetch.py``); the cap of [PAG] is stated
        for "most endpoints" and only for ``/transactions`` in particular [TXN].
        """
        if self.kind == "days":
            return WindowStepper.days(date.fromordinal(self.lo), date.fromordinal(self.hi), max_days=MAX_WINDOW_DAYS).windows()
        head: list[Window] = [MillisWindow(HEAD_START_MS, self.lo - 1)] if self.head and self.lo > HEAD_START_MS else []
        return head + WindowStepper.epoch_ms(self.lo, self.hi, max_days=MAX_WINDOW_DAYS).windows()

    def is_head(self, index: int) -> bool:
        return self.head and index == 0 and self.lo > HEAD_START_MS

    def pending(self) -> list[tuple[int, Window]]:
        return [(i, w) for i, w in enumerate(self.windows()) if i not in self.done]

    def window_start_ms(self, index: int, tz: str) -> int:
        window = self.windows()[index]
        if isinstance(window, DayWindow):
            return local_midnight_ms(window.start, tz)
        assert isinstance(window, MillisWindow)
        return window.start_ms

    def with_done(self, *indexes: int) -> Plan:
        return replace(self, done=self.done | frozenset(indexes))

    def with_unsettled(self, index: int, tz: str) -> Plan:
        # the head's records that moved left it for now, where the tail reads them: its start
        # (1970) is no place for the watermark
        start = self.lo if self.is_head(index) else self.window_start_ms(index, tz)
        floor = start if self.floor_ms is None else min(self.floor_ms, start)
        return replace(self, unsettled=self.unsettled + 1, floor_ms=floor, done=self.done | {index})

    def tail(self, lo: int) -> Plan:
        """The re-pull of ``[lo, hi]`` after a parallel fill, as a fresh phase."""
        return replace(self, phase="tail", lo=max(self.lo, min(lo, self.hi)), done=frozenset(), tail_pass=self.tail_pass + 1,
                       head=False)

    def cursor(self) -> dict[str, Any]:
        return {
            "plan": self.plan_id, "mode": self.mode, "since": self.since, "kind": self.kind, "lo": self.lo,
            "hi": self.hi, "parallel": self.parallel, "end_ms": self.end_ms, "phase": self.phase,
            "done": sorted(self.done), "unsettled": self.unsettled, "floor_ms": self.floor_ms, "tail_pass": self.tail_pass,
            "head": self.head,
        }

    @classmethod
    def from_cursor(cls, entity: str, cursor: dict[str, Any]) -> Plan | None:
        """The unfinished plan a cursor describes; ``None`` for a finished or foreign cursor."""
        if not isinstance(cursor, dict) or cursor.get("complete") or "lo" not in cursor:
            return None
        try:
            return cls(
                entity=entity, plan_id=str(cursor["plan"]), mode=str(cursor["mode"]), since=cursor.get("since"),
                kind=cursor["kind"], lo=int(cursor["lo"]), hi=int(cursor["hi"]), parallel=bool(cursor["parallel"]),
                end_ms=int(cursor["end_ms"]), phase=cursor.get("phase", "main"),
                done=frozenset(int(i) for i in cursor.get("done", ())),
                unsettled=int(cursor.get("unsettled") or 0),
                floor_ms=None if cursor.get("floor_ms") is None else int(cursor["floor_ms"]),
                tail_pass=int(cursor.get("tail_pass", 0)), head=bool(cursor.get("head", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def describe(self) -> str:
        if self.kind == "days":
            span = f"{date.fromordinal(self.lo)}..{date.fromordinal(self.hi)}"
        else:
            span = f"{_iso(self.lo)}..{_iso(self.hi)}"
        return f"{self.entity} {self.phase} {span}: {len(self.done)}/{len(self.windows())} windows done"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo("UTC")).isoformat(timespec="minutes")


def new_plan(
    entity: str,
    *,
    run_id: str,
    mode: str,
    since: date | None,
    watermark_ms: int | None,
    lookback: timedelta,
    now: datetime,
    tz: str,
    history_years: int = DEFAULT_HISTORY_YEARS,
    opened_ms: int | None = None,
) -> Plan:
    """The plan of a new sync of ``entity``.

    Incremental with a watermark: from the watermark minus the lookback (members and products:
    that instant; transactions: its shop-local day, so the trailing days are pulled again for
    refunds and late edits). A backfill, or a first sync without a watermark: windows fetched in
    parallel from :func:`fill_start`.
    """
    end_ms = to_ms(now)
    kind = kind_of(entity)
    if mode == "backfill" or watermark_ms is None:
        fill = True
        start_ms = local_midnight_ms(fill_start(kind, since, now, tz, history_years, opened_ms), tz)
    else:
        fill = False
        start_ms = watermark_ms - int(lookback.total_seconds() * 1000)
    if kind == "days":
        lo, hi = local_day(start_ms, tz).toordinal(), local_day(now, tz).toordinal()
    else:
        lo, hi = start_ms, end_ms
    return Plan(
        entity=entity, plan_id=run_id, mode=mode, since=since.isoformat() if since else None, kind=kind,
        lo=min(lo, hi), hi=hi, parallel=fill, end_ms=end_ms, head=fill and kind == "ms",
    )


def fill_start(kind: Kind, since: date | None, now: datetime, tz: str, history_years: int, opened_ms: int | None) -> date:
    """The shop-local day a fill starts on.

    Transactions: ``since``, else ``history_years`` back. Members and products are the shop's
    current customers and catalogue, needed whole however short the history asked for: the
    listings filter on ``modified``, so a product unchanged since before ``since`` would be
    missed. They start ``history_years`` back, or earlier where ``since`` or the day the shop
    opened (``/store``'s ``created``) is earlier. The opening alone is no floor: members belong
    to the company, and a catalogue can be older than the shop that carries it.
    """
    history = local_day(now, tz) - timedelta(days=round(365.25 * history_years))
    if kind == "days":
        return since or history
    opened = history if opened_ms is None else local_day(opened_ms, tz)
    return min(history, opened, since or history)


def tail_start(plan: Plan, newest_ms: int | None, lookback: timedelta, tz: str) -> int:
    """Where the tail of a parallel fill starts: the newest ``modified`` stored minus the lookback.

    Records that moved while the windows were fetched in parallel (edited, so their ``modified``
    jumped to the server's now) or were created meanwhile all sit after that instant.
    """
    if newest_ms is None:
        return plan.hi
    start = newest_ms - int(lookback.total_seconds() * 1000)
    return local_day(start, tz).toordinal() if plan.kind == "days" else start


def watermark_for(plan: Plan, newest_ms: int | None) -> int:
    """The watermark a finished plan leaves: the newest ``modified`` stored (the server's clock,
    not ours), never past the frozen end, and never past a window given up on."""
    mark = plan.end_ms if newest_ms is None else min(newest_ms, plan.end_ms)
    return mark if plan.floor_ms is None else min(mark, plan.floor_ms)


__all__ = [
    "ALL_ENTITIES",
    "DEFAULT_HISTORY_YEARS",
    "ENTITY_CALLS",
    "HEAD_START_MS",
    "ENTITY_ENDPOINTS",
    "LOOKUP_ENTITIES",
    "MAIN_ENTITIES",
    "MODES",
    "Plan",
    "check_entities",
    "check_mode",
    "fill_start",
    "kind_of",
    "local_midnight_ms",
    "new_plan",
    "parse_since",
    "spec_for",
    "tail_start",
    "watermark_for",
]
