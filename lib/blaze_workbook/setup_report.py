"""The 01_setup report's pieces: the first batch, the plan's questions answered, key figures.

The notebook stays thin (STYLE.md rule 11): each cell calls one function from here, from
:mod:`.probe`, :mod:`.introspect` or :mod:`.phase1`. What is shown of Blaze records is masked
(:func:`report_kit.mask_pii`: names, phones, emails, street addresses), and quarantine rows
are shown by reason only, never by payload.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from . import postgres, report_kit
from .config import BlazeSettings, database_url
from .errors import WorkbookError
from .introspect import SchemaReport
from .mapping import TABLES, Table
from .phase1 import SetupPlan, SetupResult
from .probe import ENTITY_OF, ProbeResult
from .redact import redact
from .sync import LOOKUP_ENTITIES, DecodedPage, decode_page

#: the entities of the first batch, and the probe call whose page holds each
BATCH = {"members": "members", "transactions": "transactions", "products": "products"}
#: staging table -> PII columns by mask kind (street addresses are masked like names: initials)
PII: dict[str, dict[str, tuple[str, ...]]] = {
    "customers_blaze_staging": {"phone": ("phone",), "email": ("email",), "name": ("name", "street_address")},
    "transactions_blaze_staging": {"name": ("staff_name",)},
}
#: staging table -> the columns the report shows of it (the full frames have every column)
SHOWN: dict[str, tuple[str, ...]] = {
    "customers_blaze_staging": ("member_id", "name", "phone", "email", "street_address", "city", "state", "zip_code",
                                "loyalty_points", "customer_type", "last_visited", "blaze_modified"),
    "transactions_blaze_staging": ("transaction_id", "customer_id", "date", "shop_location", "staff_name",
                                   "payment_type", "total_amount", "total_tax", "discounts", "loyalty_points_earned",
                                   "blaze_status", "trans_type"),
    "transaction_items_blaze_staging": ("item_id", "transaction_id", "product_sku", "product_name", "brand", "category",
                                        "quantity", "unit_price", "total_price", "tax"),
    "products_blaze_staging": ("product_id", "sku", "name", "brand", "category", "vendor_name", "retail_price",
                               "is_active", "thc_content", "cbd_content", "weight_per_unit"),
}
#: look-up columns whose resolution the report counts: (staging table, column)
RESOLVED = (
    ("transactions_blaze_staging", "staff_name"),
    ("transactions_blaze_staging", "shop_location"),
    ("products_blaze_staging", "vendor_name"),
    ("products_blaze_staging", "category"),
    ("products_blaze_staging", "brand"),
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_WRITES = re.compile(r"^\s*(UPDATE|DELETE|DROP|TRUNCATE|ALTER\s+TABLE\s+\S+\s+(?:DROP|RENAME|ALTER))\b", re.I | re.M)


# --------------------------------------------------------------------------- settings


def settings_frame(settings: BlazeSettings) -> pl.DataFrame:
    """Where the workbook connects, without secrets: API root, key presence, database target."""
    db = database_url()
    target = postgres.describe(db) if db else "the embedded Postgres under the workbook home"
    return pl.DataFrame({
        "setting": ["BLAZE_BASE_URL", "BLAZE_PARTNER_KEY", "BLAZE_DEVELOPER_KEY", "DATABASE_URL"],
        "value": [redact(settings.base_url), "set (value hidden)" if settings.partner_key else "missing",
                  "set (value hidden)" if settings.developer_key else "missing", target],
    })


# --------------------------------------------------------------------------- first batch


@dataclass(frozen=True)
class FirstBatch:
    """The probe's members, transactions and products pages, decoded with the probe's look-ups."""

    timezone: str
    pages: dict[str, DecodedPage]
    lookups: dict[str, pl.DataFrame]
    #: pages that could not be decoded at all: entity -> reason
    problems: dict[str, str] = field(default_factory=dict)

    def frame(self, table: str | Table) -> pl.DataFrame:
        """The staging columns of ``table`` as decoded (unmasked: for checks, not for display)."""
        t = _table(table)
        page = self.pages.get(t.entity)
        if page is None or t.staging not in page.frames:
            return pl.DataFrame(schema={c.name: pl.String for c in t.columns})
        return page.staging(t)

    def masked(self, table: str | Table, rows: int | None = 10) -> pl.DataFrame:
        """The shown columns of ``table``'s first ``rows`` records, PII masked."""
        t = _table(table)
        frame = self.frame(t)
        shown = [c for c in SHOWN.get(t.staging, frame.columns) if c in frame.columns]
        masks = PII.get(t.staging, {})
        out = report_kit.mask_pii(frame.select(shown), phone=masks.get("phone", ()), email=masks.get("email", ()),
                                  name=masks.get("name", ()))
        return out if rows is None else out.head(rows)

    def summary(self) -> pl.DataFrame:
        """One row per staging table: records received, stored, quarantined, available, drift."""
        rows: list[dict[str, Any]] = []
        for entity in BATCH:
            page = self.pages.get(entity)
            for position, t in enumerate(t for t in TABLES if t.entity == entity):
                child = position > 0  # transaction items: records inside the parent records
                stored = page.frames[t.staging].height if page and t.staging in page.frames else 0
                quarantined = page.quarantine.filter(pl.col("entity") == (t.legacy if child else entity)).height if page else 0
                rows.append({
                    "entity": entity,
                    "staging_table": t.staging,
                    "received": (stored + quarantined if child else page.count) if page else 0,
                    "stored": stored,
                    "quarantined": quarantined,
                    "available": None if child or page is None else page.total,
                    "drift": sum(v for k, v in (page.drift if page else {}).items() if f":{t.legacy}." in k),
                    "problem": self.problems.get(entity),
                })
        return pl.DataFrame(rows, schema={"entity": pl.String, "staging_table": pl.String, "received": pl.Int64,
                                          "stored": pl.Int64, "quarantined": pl.Int64, "available": pl.Int64,
                                          "drift": pl.Int64, "problem": pl.String})

    def quarantine(self) -> pl.DataFrame:
        """Records that failed to map: entity, id and reason (quoted values cut; never the payload)."""
        frames = [p.quarantine.select("entity", "record_id", "reason") for p in self.pages.values()]
        out = pl.concat(frames) if frames else pl.DataFrame(schema={"entity": pl.String, "record_id": pl.String, "reason": pl.String})
        return out.with_columns(pl.col("reason").str.replace_all(_QUOTED.pattern, "'…'"))

    def drift(self) -> pl.DataFrame:
        """Values carried despite drifting from the swagger: kind, field, count."""
        rows = [(kind, where, n) for page in self.pages.values() for key, n in page.drift.items()
                for kind, _, where in [key.partition(":")]]
        return pl.DataFrame(rows, schema={"kind": pl.String, "field": pl.String, "count": pl.Int64}, orient="row").sort(
            "count", descending=True)

    def resolution(self) -> pl.DataFrame:
        """How many rows each look-up column could name (from the look-up or the record itself)."""
        rows = []
        for staging, column in RESOLVED:
            t = next(t for t in TABLES if t.staging == staging)
            frame = self.frame(t)
            named = frame.filter(pl.col(column).is_not_null() & (pl.col(column) != "")).height if column in frame.columns else 0
            rows.append({"staging_table": staging, "column": column, "named": named, "rows": frame.height,
                         "share": named / frame.height if frame.height else None})
        return pl.DataFrame(rows, schema={"staging_table": pl.String, "column": pl.String, "named": pl.Int64,
                                          "rows": pl.Int64, "share": pl.Float64})

    def lookups_frame(self) -> pl.DataFrame:
        """Look-up tables built from the probe's pages and their sizes."""
        return pl.DataFrame({"lookup": list(self.lookups), "rows": [f.height for f in self.lookups.values()]},
                            schema={"lookup": pl.String, "rows": pl.Int64})


def _table(table: str | Table) -> Table:
    if isinstance(table, Table):
        return table
    for t in TABLES:
        if table in (t.legacy, t.staging, t.entity):
            return t
    raise KeyError(f"unknown table {table!r}; valid: {', '.join(t.staging for t in TABLES)}")


def first_batch(probe: ProbeResult, timezone: str | None = None) -> FirstBatch:
    """Decode the probe's pages: look-ups first (store, employees, terminals, vendors, categories,
    brands), then members, transactions and products with those look-ups and the shop's zone."""
    tz = timezone or probe.timezone
    lookups: dict[str, pl.DataFrame] = {}
    problems: dict[str, str] = {}
    for label, entity in ENTITY_OF.items():
        if entity not in LOOKUP_ENTITIES or label not in probe.bodies:
            continue
        try:
            page = decode_page(entity, probe.bodies[label], timezone=tz)
        except WorkbookError as exc:
            problems[entity] = redact(exc.message)
            continue
        lookups.update(page.frames)
    pages: dict[str, DecodedPage] = {}
    for entity, label in BATCH.items():
        body = probe.bodies.get(label)
        if body is None:
            problems[entity] = "not fetched (the probe call failed)"
            continue
        try:
            pages[entity] = decode_page(entity, body, timezone=tz, lookups=lookups)
        except WorkbookError as exc:
            problems[entity] = redact(exc.message)
    return FirstBatch(tz, pages, lookups, problems)


# --------------------------------------------------------------------------- database and Phase 1


def column_differences(report: SchemaReport) -> pl.DataFrame:
    """Columns whose status is not ``ok`` (missing, extra, type differs, Phase 1 present or not),
    of the tables that exist (a table not there yet is listed whole in the tables frame)."""
    existing = [t.name for t in report.tables if t.exists]
    return report.columns_frame().filter((pl.col("status") != "ok") & pl.col("table").is_in(existing))


def write_setup_sql(run_dir: str | Path, plan: SetupPlan, filename: str = "setup.sql") -> None:
    """Write the plan's whole idempotent script into the run folder, for review."""
    target = Path(run_dir) / filename
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(plan.script(), encoding="utf-8")
    tmp.replace(target)


def destructive_statements(script: str) -> list[str]:
    """Statements of ``script`` that update, delete, drop, truncate or rename (Phase 1 has none)."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [m.group(0).strip() for m in _WRITES.finditer(code)]


def plan_counts(plan: SetupPlan) -> pl.DataFrame:
    """Steps by kind and status (create / replace / present)."""
    return plan.frame().group_by("kind", "status").len("steps").sort("kind", "status")


def apply_note(outcome: SetupResult | None, plan: SetupPlan) -> str:
    """One paragraph (markdown) on what Phase 1 did in this run."""
    if outcome is None:
        todo = len(plan.changes)
        return (f"**apply = false**: nothing was changed. {todo} of {len(plan.steps)} Phase-1 objects would be created "
                f"or replaced; review `setup.sql` in the run folder, then run with `-p apply=true`."
                if todo else f"**apply = false**: all {len(plan.steps)} Phase-1 objects are already present; nothing to do.")
    return f"**apply = true**: {outcome.summary()}."


def phase1_status(plan: SetupPlan, outcome: SetupResult | None) -> str:
    """``planned`` (apply=false, something to do), ``applied``, ``no change``."""
    if outcome is None:
        return "planned" if plan.changes else "no change"
    return "applied" if outcome.changed else "no change"


# --------------------------------------------------------------------------- the plan's questions


def plan_questions(
    probe: ProbeResult,
    batch: FirstBatch,
    schema: SchemaReport | None,
    plan: SetupPlan | None,
) -> pl.DataFrame:
    """The plan's "Questions to Answer", each answered with the evidence of this run."""
    res = {(r["staging_table"], r["column"]): r for r in batch.resolution().to_dicts()}

    def named(staging: str, column: str) -> str:
        r = res[(staging, column)]
        return f"{column} {r['named']}/{r['rows']}"

    a = probe.answers
    lookups = a["lookups"].answer + (
        f" First batch: products named {', '.join(named('products_blaze_staging', c) for c in ('vendor_name', 'category', 'brand'))}."
        if "products" in batch.pages else "")
    staff = a["staff"].answer + (
        f" First batch: transactions named {', '.join(named('transactions_blaze_staging', c) for c in ('staff_name', 'shop_location'))}."
        if "transactions" in batch.pages else "")

    rows: list[tuple[str, str, str]] = [
        (a["lookups"].question, lookups, a["lookups"].evidence),
        (a["staff"].question, staff, a["staff"].evidence),
        (a["loyalty"].question, a["loyalty"].answer, a["loyalty"].evidence),
        _history(probe, schema, plan),
        _rollback(schema, plan),
    ]
    return pl.DataFrame(rows, schema={"question": pl.String, "answer": pl.String, "evidence": pl.String}, orient="row")


def _history(probe: ProbeResult, schema: SchemaReport | None, plan: SetupPlan | None) -> tuple[str, str, str]:
    question = "Should we keep historical CSV data or replace entirely?"
    week = probe.call("transactions")
    weekly = week.total if week is not None and week.ok and week.total is not None else None
    calls_per_year = 52 * max(1, math.ceil(weekly / 100)) if weekly is not None else None
    counts = ", ".join(f"{r.name} {r.rows:,}" for r in schema.tables if r.role == "existing" and r.rows is not None) if schema else ""
    writes = destructive_statements(plan.script()) if plan else []
    if plan is None:
        safety = "changes none of them"
    elif writes:
        safety = f"setup.sql holds {len(writes)} statement(s) that write to existing objects: review them first"
    else:
        safety = "changes none of them (setup.sql has no UPDATE, DELETE, DROP or TRUNCATE)"
    answer = (
        "Keep it (the plan's Option C): Phase 1 adds nullable columns, staging tables and views beside the existing "
        f"rows and {safety}; "
        "Blaze history is read into staging, compared (03_compare) and replaced field by field at cutover only where the "
        "gate passes."
        + (f" Re-reading history costs about {calls_per_year:,} calls per year of history ({weekly:,} transactions in the "
           "last 7 days, 7-day windows of at most 100 per page)." if calls_per_year is not None else "")
    )
    evidence = "; ".join(x for x in (
        f"existing rows: {counts}" if counts else "",
        f"{_said_week(week)}" if week is not None else "",
        f"setup.sql: {len(plan.steps)} steps, {len(writes)} UPDATE/DELETE/DROP/TRUNCATE statements" if plan else "",
    ) if x)
    return question, answer, evidence


def _said_week(call: Any) -> str:
    if call.status is None:
        return f"{call.request}: {call.error}"
    return f"{call.request} -> {call.status}, total {call.total}" if call.ok else f"{call.request} -> {call.status}"


def _rollback(schema: SchemaReport | None, plan: SetupPlan | None) -> tuple[str, str, str]:
    question = "What's the rollback plan if data quality issues?"
    answer = (
        "Phase 1 is additive: new columns are nullable without defaults (no row rewritten) and marked as added by "
        "01_setup in their column comments, staging tables and views are separate objects, and everything is applied "
        "in one transaction under lock_timeout, so a failure leaves nothing half-done. Undoing it means dropping what "
        "it added; no existing value is touched before cutover. The cutover (04) writes rollback.sql with every value "
        "it replaces and restores them exactly (CONTRACTS §5); values changed since by another application are "
        "reported as conflicts, not overwritten."
    )
    evidence = "; ".join(x for x in (
        f"setup.sql: {len(plan.changes)} to create or replace, {len(plan.steps) - len(plan.changes)} present; "
        f"destructive statements: {len(destructive_statements(plan.script()))}" if plan else "",
        f"Phase 1 state before this run: {schema.phase1}" if schema else "",
    ) if x)
    return question, answer, evidence


# --------------------------------------------------------------------------- outputs


def key_figures(
    probe: ProbeResult,
    plan: SetupPlan | None,
    outcome: SetupResult | None,
    batch: FirstBatch | None = None,
    after: SchemaReport | None = None,
) -> dict[str, Any]:
    """The run's key figures (``key_figures.json``): endpoints ok, calls used, Phase 1 status."""
    figures: dict[str, Any] = {
        "endpoints_ok": f"{probe.endpoints_ok}/{len(probe.endpoint_calls)}",
        "calls_used": probe.calls_used,
        "api_calls": probe.calls_used,
        "timezone": probe.timezone,
    }
    if plan is not None:
        figures["phase1_status"] = phase1_status(plan, outcome)
        figures["objects_to_create"] = len(plan.changes)
        figures["objects_created"] = len(outcome.created) + len(outcome.replaced) if outcome else 0
    if after is not None:
        figures["phase1_state"] = after.phase1
    if batch is not None:
        figures["first_batch_records"] = sum(page.count for page in batch.pages.values())
        figures["quarantined"] = batch.quarantine().height
    return figures


def probe_json(probe: ProbeResult, batch: FirstBatch | None = None, questions: pl.DataFrame | None = None) -> dict[str, Any]:
    """``probe.json``: every call and answer, the first batch's counts and the plan's questions."""
    out = probe.as_dict()
    if batch is not None:
        out["first_batch"] = {
            "summary": batch.summary().to_dicts(),
            "resolution": batch.resolution().to_dicts(),
            "quarantine": batch.quarantine().to_dicts(),
            "drift": batch.drift().to_dicts(),
        }
    if questions is not None:
        out["plan_questions"] = questions.to_dicts()
    return out


__all__ = [
    "FirstBatch",
    "apply_note",
    "column_differences",
    "destructive_statements",
    "first_batch",
    "key_figures",
    "phase1_status",
    "plan_counts",
    "plan_questions",
    "probe_json",
    "settings_frame",
    "write_setup_sql",
]
