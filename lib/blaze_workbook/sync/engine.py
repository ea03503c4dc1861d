"""A sync run: look-ups, then transactions beside members and products, then the push to Postgres.

:func:`run_sync` is what the notebook (and a scheduler) calls. It decides per entity whether it
is due (:mod:`.cadence`) and which plan it works through (:mod:`.plan`): an interrupted one is
resumed, otherwise a new one starts from the watermark minus the lookback, or fills from
``since``. Every plan is stored before the first page, so a run killed at any instant leaves the
next run a plan for each entity it was asked for. How a plan is listed, page by page and with
the plan as cursor in each page's own transaction, is :mod:`.fetch`; the entities run in lanes
side by side (:mod:`.together`), so the calls of one wait while the pages of another are stored.

``mode="replay"`` rebuilds the typed tables from the stored raw pages: no client is even made.
The run is recorded in the warehouse ``runs`` table (calls, counts), which ``blaze-workbook
status`` reads.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from ..blaze.client import BlazeClient, RawPage
from ..blaze.limiter import API_CALLS, API_SECONDS, CallBudget
from ..blaze.retry import RetryPolicy
from ..config import BlazeSettings
from ..errors import ConfigurationError, WorkbookError
from ..mapping import CUSTOMERS, PRODUCTS, TRANSACTION_ITEMS, TRANSACTIONS
from ..redact import redact
from .cadence import check_cadence, due
from .fetch import EntitySync, account, checkpoint, request_of
from .plan import DEFAULT_HISTORY_YEARS, ENTITY_CALLS, LOOKUP_ENTITIES, MAIN_ENTITIES, Plan, check_entities, check_mode, new_plan, parse_since
from .progress import Progress, ProgressCallback
from .push import push as push_tables
from .summary import ApiUse, EntityResult, PushResult, SyncSummary, project_month
from .together import Crew, lanes
from .warehouse import TableCounts, Warehouse

log = logging.getLogger("blaze_workbook.sync")


def run_sync(
    settings_or_client: BlazeSettings | BlazeClient | None = None,
    warehouse: Warehouse | None = None,
    *,
    mode: str = "incremental",
    since: str | date | datetime | None = None,
    entities: list[str] | tuple[str, ...] | str | None = None,
    force: bool = False,
    push: bool = True,
    lookback_hours: float = 48,
    concurrency: int = 4,
    budget_fraction: float = 0.9,
    cadence: Mapping[str, int] | None = None,
    now: datetime | int | str | None = None,
    progress: ProgressCallback | None = None,
    conninfo: str | None = None,
    rate_limit: tuple[int, float] = (API_CALLS, API_SECONDS),
    page_limit: int = 100,
    history_years: int = DEFAULT_HISTORY_YEARS,
    max_passes: int = 4,
    run_id: str | None = None,
) -> SyncSummary:
    """Sync Blaze into the warehouse (and push it to Postgres staging); returns the summary.

    ``settings_or_client``: a :class:`BlazeClient` (used as is: its budget and retry policy), or
    settings (``None``: from the environment) to build one with ``concurrency`` connections and
    a budget of ``budget_fraction`` of ``rate_limit`` (calls, seconds). ``warehouse``: an open
    warehouse, else the one under the workbook home. ``mode``: ``incremental`` (from each
    watermark minus ``lookback_hours``; a first run fills from ``since`` or ``history_years``
    back), ``backfill`` (from ``since``, windows in parallel) or ``replay`` (no API call).
    ``cadence``: seconds between syncs per entity (incremental runs skip an entity synced more
    recently unless ``force``). ``now`` freezes the end of every window range (default: now).
    ``conninfo``: the Postgres to push to (default ``DATABASE_URL`` or the embedded one).
    """
    mode = check_mode(mode)
    chosen = check_entities(entities)
    since_day = parse_since(since)
    every = check_cadence(cadence)
    frozen = _as_now(now)
    if lookback_hours < 0 or concurrency < 1 or max_passes < 1 or not 1 <= page_limit <= 100:
        raise ConfigurationError(
            "lookback_hours must be >= 0, concurrency and max_passes >= 1, page_limit between 1 and 100 "
            f"(got {lookback_hours}, {concurrency}, {max_passes}, {page_limit})"
        )
    run_id = run_id or f"sync-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    owned_wh = warehouse is None
    wh = warehouse if warehouse is not None else Warehouse.open()
    summary = SyncSummary(run_id, mode, started_at=datetime.now(UTC))
    client: BlazeClient | None = None
    owned_client = False
    first_call = 0
    try:
        _close_stale_runs(wh)
        wh.start_run(run_id, mode, started_at=summary.started_at)
        if mode == "replay":
            _replay(wh, summary, progress)
        else:
            client, owned_client = _client(settings_or_client, concurrency, budget_fraction, rate_limit)
            first_call = client.metrics.calls
            sync = _Sync(wh, client, run_id=run_id, mode=mode, since=since_day, force=force, now=frozen,
                         lookback=timedelta(hours=lookback_hours), cadence=every, concurrency=concurrency,
                         page_limit=page_limit, history_years=history_years, max_passes=max_passes, progress=progress)
            sync.run(chosen, summary)
        if push:
            summary.push = _push(wh, conninfo, progress)
        summary.api = _api_use(wh, run_id, client, first_call)
        summary.quarantine_examples = _quarantine_examples(wh, run_id)
        summary.finished_at = datetime.now(UTC)
        wh.finish_run(run_id, summary.status, calls=summary.api.calls, counts=summary.as_dict())
        return summary
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        calls = client.metrics.calls - first_call if client is not None else 0
        try:
            wh.finish_run(run_id, status, calls=calls, counts={"error": redact(f"{type(exc).__name__}: {exc}")})
        except Exception:  # the original error matters more than the bookkeeping
            log.exception("could not record the end of run %s", run_id)
        raise
    finally:
        if owned_client and client is not None:
            client.close()
        if owned_wh:
            wh.close()


# --------------------------------------------------------------------------- one run's work


@dataclass(frozen=True)
class _Decision:
    run: bool
    message: str
    resume: Plan | None = None
    watermark_ms: int | None = None


class _Sync:
    """One run of the main modes over the chosen entities (look-ups first, then the entities in lanes)."""

    def __init__(self, wh: Warehouse, client: BlazeClient, *, run_id: str, mode: str, since: date | None, force: bool,
                 now: datetime, lookback: timedelta, cadence: dict[str, int], concurrency: int, page_limit: int,
                 history_years: int, max_passes: int, progress: ProgressCallback | None) -> None:
        self.wh, self.client, self.run_id, self.mode, self.since = wh, client, run_id, mode, since
        self.force, self.now, self.lookback, self.cadence = force, now, lookback, cadence
        self.concurrency, self.page_limit, self.history_years, self.max_passes = concurrency, page_limit, history_years, max_passes
        self.progress = progress
        self.tz = wh.timezone
        self.first_call = client.metrics.calls
        self.crew = Crew()
        #: progress callbacks are made one at a time, whichever entity's thread makes them
        self._progress_lock = threading.Lock()

    # --- the run ---------------------------------------------------------------------------

    def run(self, chosen: tuple[str, ...], summary: SyncSummary) -> None:
        main = [e for e in chosen if e in MAIN_ENTITIES]
        decisions = {e: self._decide(e) for e in main}
        # every plan is stored before any page: a run killed anywhere leaves the next run a plan
        # for each entity it was asked to sync (a killed backfill finishes as a backfill)
        plans = {e: d.resume or self._new_plan(e, d) for e, d in decisions.items() if d.run}
        for entity, plan in plans.items():
            if decisions[entity].resume is None:
                checkpoint(self.wh, self.run_id, entity, {"cursor": plan.cursor()}, "planned")
        lookups = self._lookups_due(bool(plans), "lookups" in chosen and not main)
        if lookups.run:
            summary.entities.append(self._guard("lookups", self._lookups))
            self.tz = self.wh.timezone
            plans = self._replan(plans, decisions)
        elif "lookups" in chosen and (plans or not main):
            summary.entities.append(EntityResult("lookups", "skipped", lookups.message))
        results: dict[str, EntityResult] = {}
        for entity in main:
            if entity not in plans:
                results[entity] = EntityResult(entity, "skipped", decisions[entity].message)
                self._emit("skip", entity, message=decisions[entity].message)
                log.info("%s", decisions[entity].message)
        # the entities in lanes side by side (together.py): one's waits hide behind another's CPU
        work = {entity: partial(self._guard, entity, partial(self._entity, decision=decisions[entity], plan=plan))
                for entity, plan in plans.items()}
        for lane in self.crew.run(lanes(work)).values():
            results.update((r.entity, r) for r in lane)
        summary.entities.extend(results[entity] for entity in main)
        if any(e.status == "failed" for e in summary.entities):
            summary.errors.extend(f"{e.entity}: {e.message}" for e in summary.entities if e.status == "failed")

    def _new_plan(self, entity: str, decision: _Decision) -> Plan:
        return new_plan(entity, run_id=self.run_id, mode=self.mode, since=self.since,
                        watermark_ms=None if self.mode == "backfill" else decision.watermark_ms,
                        lookback=self.lookback, now=self.now, tz=self.tz, history_years=self.history_years,
                        opened_ms=self.wh.shop_opened_ms)

    def _replan(self, plans: dict[str, Plan], decisions: dict[str, _Decision]) -> dict[str, Plan]:
        """The plans made before the look-ups, made again with what ``/store`` said.

        A first run plans with the fallback time zone and without the shop's opening day (the
        plans are stored before any call, for a kill to resume). No page of them is fetched yet,
        so each is replaced, and stored again, where the shop's time zone or opening moves it.
        """
        fresh = {e: p for e, p in plans.items() if decisions[e].resume is None}
        for entity, plan in fresh.items():
            again = self._new_plan(entity, decisions[entity])
            if again != plan:
                checkpoint(self.wh, self.run_id, entity, {"cursor": again.cursor()}, "planned")
                plans = {**plans, entity: again}
        return plans

    def _decide(self, entity: str) -> _Decision:
        state = self.wh.state(entity) or {}
        cursor = state.get("cursor")
        mark = state.get("watermark_ms")
        plan = Plan.from_cursor(entity, cursor) if cursor else None
        since = self.since.isoformat() if self.since else None
        if plan is not None and (self.mode == "incremental" or (plan.mode == self.mode and plan.since == since)):
            return _Decision(True, f"resumed the interrupted sync of run {plan.plan_id}", plan, mark)
        if self.mode != "incremental":
            return _Decision(True, f"{self.mode} from {since or f'{self.history_years} years back'}", None, mark)
        last = None
        if isinstance(cursor, dict) and cursor.get("complete") and cursor.get("synced_at"):
            last = datetime.fromisoformat(str(cursor["synced_at"]))
        verdict = due(entity, last, self.cadence.get(entity, 0), self.now, force=self.force)
        return _Decision(verdict.due, verdict.message, None, mark)

    def _lookups_due(self, entities_run: bool, alone: bool) -> _Decision:
        """Look-ups are refreshed before the entities of every run that syncs one (their own
        cadence, default 0, can space them out), or alone when they are all that was asked for."""
        if not (entities_run or alone):
            return _Decision(False, "lookups: no entity to sync")
        if "shop" not in self.wh.lookups():
            return _Decision(True, "lookups: never fetched")
        last = self.wh.sql("SELECT max(fetched_at) AS t FROM raw_pages WHERE entity = 'store'").item()
        verdict = due("lookups", last, self.cadence.get("lookups", 0), datetime.now(UTC), force=self.force)
        return _Decision(verdict.due, verdict.message)

    def _guard(self, entity: str, work: Callable[[EntityResult], None]) -> EntityResult:
        """Run one entity's work, timing it and counting its calls; a workbook error fails only it."""
        result = EntityResult(entity, "synced")
        first = self.client.metrics.calls
        endpoints = ENTITY_CALLS.get(entity, LOOKUP_ENTITIES)
        started = time.perf_counter()
        try:
            work(result)
            self._emit("done", entity, records=result.records, message=f"{entity}: {result.records:,} records, {result.status}")
        except WorkbookError as exc:
            result.status, result.message = "failed", redact(f"{type(exc).__name__}: {exc}")
            log.error("sync of %s failed: %s", entity, result.message)
            self._emit("failed", entity, message=f"{entity}: {result.message}")
        finally:
            result.seconds = time.perf_counter() - started
            # other entities call at the same time: only this one's endpoints are its calls
            calls = [c for c in self.client.metrics.records()[first:] if c.endpoint in endpoints]
            result.calls = len(calls)
            result.rate_limited = sum(1 for c in calls if c.status == 429)
            result.retries = sum(1 for c in calls if c.attempt > 1)
            result.bytes = sum(c.bytes for c in calls)
            # calls so far on the run's record: a run killed later still counts what it spent
            self.wh.finish_run(self.run_id, "running", calls=self.client.metrics.calls - self.first_call)
        return result

    def _lookups(self, result: EntityResult) -> None:
        """Store, staff, terminals, vendors, categories, brands: a few calls, every run.

        The listings are read at once (a few pages each: nothing to hold back) and stored in
        their order, the shop first."""
        self._emit("start", "lookups", windows=len(LOOKUP_ENTITIES))
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(LOOKUP_ENTITIES)),
                                thread_name_prefix="blaze-lookups") as pool:
            for name, listing in zip(LOOKUP_ENTITIES, pool.map(self._listing, LOOKUP_ENTITIES), strict=True):
                for page in listing:
                    if page.count:
                        counts = self.wh.ingest(self.run_id, name, page.body, request_of(page), fetched_at=page.fetched_at)
                        account(result, counts)
                        self._emit("page", "lookups", records=counts.records)
                result.windows += 1
                self._emit("window", "lookups")

    def _listing(self, name: str) -> list[RawPage]:
        with closing(self.client.iter_pages(name)) as pages:
            return list(pages)

    def _entity(self, result: EntityResult, decision: _Decision, plan: Plan) -> None:
        if decision.resume is not None:
            result.status = "resumed"
        result.message = decision.message
        EntitySync(self.wh, self.client, result, run_id=self.run_id, now=self.now, tz=self.tz, lookback=self.lookback,
                   concurrency=self.concurrency, page_limit=self.page_limit, max_passes=self.max_passes,
                   emit=self._emit).run(plan)

    def _emit(self, kind: str, entity: str, **fields: Any) -> None:
        """Report progress; in an entity's thread, also where it stops when another one failed."""
        self.crew.check()
        if self.progress is not None:
            with self._progress_lock:
                self.progress(Progress(kind, entity, **fields))


# --------------------------------------------------------------------------- around the run


def _as_now(now: datetime | int | str | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, int) and not isinstance(now, bool):
        return datetime.fromtimestamp(now / 1000, UTC)
    if isinstance(now, str):
        now = datetime.fromisoformat(now.replace("Z", "+00:00"))
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ConfigurationError(f"now must be an aware datetime, epoch ms or an ISO instant with a zone, not {now!r}")
    return now.astimezone(UTC)


def _client(source: BlazeSettings | BlazeClient | None, concurrency: int, fraction: float,
            rate_limit: tuple[int, float]) -> tuple[BlazeClient, bool]:
    if isinstance(source, BlazeClient):
        return source, False
    settings = source if isinstance(source, BlazeSettings) else BlazeSettings.from_env()
    budget = CallBudget(int(rate_limit[0]), float(rate_limit[1]), budget_fraction=fraction)
    return BlazeClient(settings, concurrency=concurrency, policy=RetryPolicy(budget=budget)), True


def _close_stale_runs(wh: Warehouse) -> None:
    """Runs still marked running were killed: this process holds the warehouse's lock now."""
    for run in wh.sql("SELECT run_id FROM runs WHERE status = 'running'").get_column("run_id").to_list():
        wh.finish_run(run, "interrupted")


def _replay(wh: Warehouse, summary: SyncSummary, progress: ProgressCallback | None) -> None:
    started = time.perf_counter()
    counts = wh.replay()
    seconds = time.perf_counter() - started
    summary.replay = {"pages": counts.pages, "tables": dict(counts.tables), "quarantined": counts.quarantined}
    owners = {"members": (CUSTOMERS,), "transactions": (TRANSACTIONS, TRANSACTION_ITEMS), "products": (PRODUCTS,)}
    for entity, tables in owners.items():
        result = EntityResult(entity, "replayed", f"rebuilt from {counts.pages:,} stored pages, no API call")
        result.tables = {t.staging: TableCounts(new=counts.tables.get(t.staging, 0)) for t in tables}
        result.records = result.counts.new
        result.seconds = seconds
        summary.entities.append(result)
        if progress is not None:
            progress(Progress("done", entity, records=result.records, message=result.message))


def _push(wh: Warehouse, conninfo: str | None, progress: ProgressCallback | None) -> PushResult:
    """Push every staging table (one Postgres transaction each); a failure leaves the warehouse
    as it is and the next run pushes what this one could not."""
    try:
        pushed = push_tables(wh, conninfo)
    except WorkbookError as exc:
        message = redact(f"{type(exc).__name__}: {exc}")
        log.error("push to Postgres staging failed: %s", message)
        result = PushResult("failed", message)
    else:
        tables = {name: {"sent": c.sent, "inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
                  for name, c in pushed.items()}
        sent = sum(t["sent"] for t in tables.values())
        result = PushResult("ok", f"{sent:,} rows sent to Postgres staging", tables)
    if progress is not None:
        progress(Progress("push", "push", message=f"push {result.status}: {result.message}"))
    return result


def _api_use(wh: Warehouse, run_id: str, client: BlazeClient | None, first: int) -> ApiUse:
    calls = client.metrics.records()[first:] if client is not None else []
    now = datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    before = wh.sql(
        "SELECT coalesce(sum(calls) FILTER (WHERE started_at >= $d), 0) AS today, "
        "coalesce(sum(calls) FILTER (WHERE started_at >= $m), 0) AS month FROM runs WHERE run_id <> $r",
        {"d": day, "m": day.replace(day=1), "r": run_id},
    ).row(0)
    month = int(before[1]) + len(calls)
    budget = client.policy.budget if client is not None else None
    return ApiUse(
        calls=len(calls), rate_limited=sum(1 for c in calls if c.status == 429),
        retries=sum(1 for c in calls if c.attempt > 1), bytes=sum(c.bytes for c in calls),
        today=int(before[0]) + len(calls), month=month, projected_month=project_month(month, now),
        peak_in_window=budget.max_used if budget is not None else 0, budget=budget.capacity if budget is not None else 0,
    )


def _quarantine_examples(wh: Warehouse, run_id: str, n: int = 5) -> list[dict[str, Any]]:
    """A few of this run's quarantined records: entity, id and reason. Payloads hold personal data
    and stay in the warehouse's ``quarantine`` table."""
    return wh.quarantine_frame(run_id).head(n).select("entity", "record_id", "reason").to_dicts()


__all__ = ["run_sync"]
