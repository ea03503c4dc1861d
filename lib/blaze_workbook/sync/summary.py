"""The closing summary of a sync run: what each entity did, what it cost, what went wrong.

:class:`SyncSummary` is plain data with three views: :meth:`SyncSummary.frame` (one row per
entity, for report tables), :meth:`SyncSummary.as_dict` (JSON for ``sync_summary.json`` and the
warehouse ``runs`` table) and :meth:`SyncSummary.key_figures` (the report header). Calls are
billed [RULES], so the summary projects this month's calls onto the Blaze tiers.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from ..errors import InvestigateError
from .warehouse import TableCounts

#: Blaze billing tiers: calls included per month, dollars per month (API.md §4 [RULES])
TIERS: tuple[tuple[int, int], ...] = ((250_000, 100), (1_500_000, 250), (10_000_000, 500))


def project_month(month_calls: int, now: datetime) -> int:
    """This month's calls extrapolated over the whole month (at least one day counted as elapsed)."""
    days = calendar.monthrange(now.year, now.month)[1]
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elapsed = max((now - start).total_seconds() / 86_400, 1.0)
    return round(month_calls * days / elapsed)


def tier_for(calls: int) -> tuple[int, int, bool]:
    """``(calls included, dollars per month, over the top tier)`` of the cheapest tier for ``calls``."""
    for included, dollars in TIERS:
        if calls <= included:
            return included, dollars, False
    included, dollars = TIERS[-1]
    return included, dollars, True


@dataclass
class EntityResult:
    """One entity (or ``lookups``) in one run."""

    entity: str
    #: ``synced``, ``resumed`` (an interrupted sync finished), ``skipped`` (cadence), ``failed``, ``replayed``
    status: str
    message: str = ""
    #: windows listed (each once, however many passes), windows listed again, tail passes
    windows: int = 0
    refetched: int = 0
    tail_passes: int = 0
    #: windows given up on after too many passes that changed under us (read again next run)
    unsettled: int = 0
    pages: int = 0
    records: int = 0
    #: sales re-read by id because a refund changed them outside the windows
    parents: int = 0
    tables: dict[str, TableCounts] = field(default_factory=dict)
    quarantined: int = 0
    #: records Blaze flags ``deleted`` that this run stored or changed: kept in staging, flagged
    deleted: int = 0
    drift: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    bytes: int = 0
    seconds: float = 0.0
    watermark_ms: int | None = None

    @property
    def counts(self) -> TableCounts:
        """The entity's own table (transactions without their items)."""
        main = {"members": "customers_blaze_staging", "transactions": "transactions_blaze_staging",
                "products": "products_blaze_staging"}.get(self.entity)
        if main is not None:
            return self.tables.get(main, TableCounts())
        return sum(self.tables.values(), TableCounts())

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def row(self) -> dict[str, Any]:
        c = self.counts
        return {
            "entity": self.entity, "status": self.status, "new": c.new, "updated": c.updated, "unchanged": c.unchanged,
            "quarantined": self.quarantined, "deleted": self.deleted, "records": self.records, "pages": self.pages, "windows": self.windows,
            "refetched": self.refetched, "parents": self.parents, "calls": self.calls, "rate_limited": self.rate_limited,
            "retries": self.retries, "bytes": self.bytes, "seconds": round(self.seconds, 3),
            "records_per_s": round(self.records_per_s, 1), "drift": int(sum(self.drift.values())), "message": self.message,
        }


_ENTITY_SCHEMA = {
    "entity": pl.String, "status": pl.String, "new": pl.Int64, "updated": pl.Int64, "unchanged": pl.Int64,
    "quarantined": pl.Int64, "deleted": pl.Int64, "records": pl.Int64, "pages": pl.Int64, "windows": pl.Int64, "refetched": pl.Int64,
    "parents": pl.Int64, "calls": pl.Int64, "rate_limited": pl.Int64, "retries": pl.Int64, "bytes": pl.Int64,
    "seconds": pl.Float64, "records_per_s": pl.Float64, "drift": pl.Int64, "message": pl.String,
}


@dataclass
class PushResult:
    """The push to Postgres staging: ``ok``, ``failed`` (the warehouse keeps everything; the next
    run pushes it) or ``skipped``."""

    status: str = "skipped"
    message: str = ""
    #: staging table -> rows sent, inserted, updated, unchanged
    tables: dict[str, dict[str, int]] = field(default_factory=dict)

    def frame(self) -> pl.DataFrame:
        rows = [{"table": name, **counts} for name, counts in self.tables.items()]
        schema = {"table": pl.String, "sent": pl.Int64, "inserted": pl.Int64, "updated": pl.Int64, "unchanged": pl.Int64}
        return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


@dataclass
class ApiUse:
    """Calls of this run and of the calendar day and month so far (UTC), projected on the tiers."""

    calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    bytes: int = 0
    today: int = 0
    month: int = 0
    projected_month: int = 0
    #: the most calls this run's client budget held in one window, and the budget
    peak_in_window: int = 0
    budget: int = 0

    @property
    def tier(self) -> dict[str, Any]:
        included, dollars, over = tier_for(self.projected_month)
        label = f"over {included:,} calls: ${dollars}/month plus overage" if over else f"{included:,} calls (${dollars}/month)"
        return {"calls_included": included, "dollars_per_month": dollars, "over_top_tier": over, "label": label}

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "rate_limited": self.rate_limited, "retries": self.retries, "bytes": self.bytes,
            "today": self.today, "month": self.month, "projected_month": self.projected_month,
            "peak_in_window": self.peak_in_window, "budget": self.budget, "tier": self.tier,
        }


@dataclass
class SyncSummary:
    """Everything a run did. ``status``: ``ok``, ``partial`` (some entity failed, or the push did) or ``failed``."""

    run_id: str
    mode: str
    started_at: datetime
    finished_at: datetime | None = None
    entities: list[EntityResult] = field(default_factory=list)
    push: PushResult = field(default_factory=PushResult)
    api: ApiUse = field(default_factory=ApiUse)
    quarantine_examples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: replay mode: pages replayed and rows rebuilt per table
    replay: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        failed = [e for e in self.entities if e.status == "failed"]
        if not failed:
            # fetched and stored, but not in Postgres staging yet: the next run pushes it
            return "partial" if self.push.status == "failed" else "ok"
        return "failed" if len(failed) == len(self.entities) else "partial"

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.push.status != "failed"

    @property
    def seconds(self) -> float:
        return ((self.finished_at or self.started_at) - self.started_at).total_seconds()

    def entity(self, name: str) -> EntityResult:
        for e in self.entities:
            if e.entity == name:
                return e
        raise KeyError(f"no entity {name!r} in this summary; present: {', '.join(e.entity for e in self.entities)}")

    @property
    def records(self) -> int:
        return sum(e.records for e in self.entities)

    @property
    def quarantined(self) -> int:
        return sum(e.quarantined for e in self.entities)

    @property
    def deleted(self) -> int:
        """Records deleted in Blaze that this run stored, flagged (never removed from staging)."""
        return sum(e.deleted for e in self.entities)

    def frame(self) -> pl.DataFrame:
        """One row per entity: outcome counts, calls, 429s, retries, bytes, seconds, records/s."""
        return pl.DataFrame([e.row() for e in self.entities], schema=_ENTITY_SCHEMA)

    def tables_frame(self) -> pl.DataFrame:
        """One row per staging table: new, updated and unchanged rows in the warehouse."""
        total: dict[str, TableCounts] = {}
        for e in self.entities:
            for name, c in e.tables.items():
                total[name] = total.get(name, TableCounts()) + c
        rows = [{"table": k, "new": v.new, "updated": v.updated, "unchanged": v.unchanged} for k, v in total.items()]
        schema = {"table": pl.String, "new": pl.Int64, "updated": pl.Int64, "unchanged": pl.Int64}
        return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)

    def quarantine_frame(self) -> pl.DataFrame:
        """A few records this run could not store, with the reason (payloads stay in the warehouse)."""
        schema = {"entity": pl.String, "record_id": pl.String, "reason": pl.String}
        return pl.DataFrame(self.quarantine_examples, schema=schema) if self.quarantine_examples else pl.DataFrame(schema=schema)

    def api_frame(self) -> pl.DataFrame:
        """Calls of this run, today and this month, the month's projection and its Blaze tier."""
        a, tier = self.api, self.api.tier
        rows = [
            ("calls this run", f"{a.calls:,}"), ("429 answers", f"{a.rate_limited:,}"), ("retries", f"{a.retries:,}"),
            ("bytes received", f"{a.bytes:,}"), ("most calls held in one window", f"{a.peak_in_window:,} of {a.budget:,}"),
            ("calls today (UTC)", f"{a.today:,}"), ("calls this month", f"{a.month:,}"),
            ("projected this month", f"{a.projected_month:,}"), ("Blaze tier", tier["label"]),
            ("cost per month", f"${tier['dollars_per_month']}" + (" plus overage" if tier["over_top_tier"] else "")),
        ]
        return pl.DataFrame(rows, schema={"figure": pl.String, "value": pl.String}, orient="row")

    def drift(self) -> dict[str, int]:
        """Values carried despite drifting from the swagger, by kind and column, over all entities."""
        total: Counter[str] = Counter()
        for e in self.entities:
            total.update(e.drift)
        return dict(sorted(total.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "mode": self.mode, "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": round(self.seconds, 3), "records": self.records, "quarantined": self.quarantined,
            "deleted": self.deleted, "entities": {e.entity: {**e.row(), "tables": {k: vars(v) for k, v in e.tables.items()},
                                    "drift": dict(e.drift), "tail_passes": e.tail_passes, "unsettled": e.unsettled,
                                    "watermark_ms": e.watermark_ms} for e in self.entities},
            "push": {"status": self.push.status, "message": self.push.message, "tables": self.push.tables},
            "api": self.api.as_dict(), "drift": self.drift(), "quarantine_examples": self.quarantine_examples,
            "errors": self.errors, "replay": self.replay,
        }

    def key_figures(self) -> dict[str, Any]:
        """The figures a report header and the runs index show."""
        return {
            "records_synced": self.records, "api_calls": self.api.calls, "quarantined": self.quarantined,
            "status": self.status, "push": self.push.status, "projected_month_calls": self.api.projected_month,
        }

    def raise_for_status(self) -> None:
        """Raise when an entity failed or the push failed (after the summary was written), so a
        scheduler sees a failed run."""
        problems = [f"{e.entity}: {e.message}" for e in self.entities if e.status == "failed"]
        if self.push.status == "failed":
            problems.append(f"push: {self.push.message}")
        if problems:
            raise InvestigateError("the sync did not complete: " + "; ".join(problems),
                                   hint="the warehouse kept everything fetched; the next run resumes and pushes")

    def __str__(self) -> str:
        parts = [f"sync {self.run_id} ({self.mode}) {self.status} in {self.seconds:.1f} s: {self.records:,} records, "
                 f"{self.api.calls:,} calls, {self.quarantined:,} quarantined, {self.deleted:,} deleted in Blaze, "
                 f"push {self.push.status}"]
        parts += [f"  {e.entity}: {e.status} {e.message}".rstrip() for e in self.entities]
        return "\n".join(parts)


__all__ = ["TIERS", "ApiUse", "EntityResult", "PushResult", "SyncSummary", "project_month", "tier_for"]
