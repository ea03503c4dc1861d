"""Plan a cutover: the scripts, and the rows each step would change, counted by running them.

:func:`plan` reads the catalog, resolves the chosen steps against it (:mod:`.steps`), splits
each action into key-ordered batches, renders ``cutover.sql`` and RUNS it in a transaction that
is then rolled back: the counts in ``cutover_plan.json`` are what the script does, not an
estimate. It then writes ``verify.sql`` (which expects exactly those counts), ``rollback.sql``
and ``finalize.sql``. Nothing is changed — but the dry run takes the locks the cutover takes
(including ``ACCESS EXCLUSIVE`` on ``customers`` while it adds an ``_old`` column) for as long
as it runs, and like any rolled-back insertion it consumes sequence values.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from ..compare import summary as compare_summary_io
from ..errors import ConfigurationError
from ..postgres import translated
from ..setup_sql import MetricsRules
from . import cutover_sql, examples, rollback_sql, sqlgen, verify_sql
from .cutover_sql import Counts
from .script import digest, parse, render
from .steps import LEFT_AS_IS, Context, Insert, Section, Update, read_catalog, resolve, select_steps

PLAN_FILE = "cutover_plan.json"
FILES = {"cutover": "cutover.sql", "verify": "verify.sql", "rollback": "rollback.sql", "finalize": "finalize.sql"}
DEFAULT_BATCH = 50_000
#: the server version from which ``RETURNING old.…`` replaces the self-join (PostgreSQL 18)
RETURNING_OLD_SINCE = 180000
_RUN_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class TablePlan:
    """What one step does to one table, and what the dry run counted."""

    table: str
    updates: tuple[str, ...]
    inserts: bool
    rows: int
    cells: int
    inserted: int
    added_columns: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    #: column -> the compare run's counts for it, with ``expected_changes``
    compare: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class StepPlan:
    number: int
    name: str
    title: str
    tables: tuple[TablePlan, ...]

    @property
    def id(self) -> str:
        return f"{self.number}_{self.name}"

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def cells(self) -> int:
        return sum(t.cells for t in self.tables)

    @property
    def inserted(self) -> int:
        return sum(t.inserted for t in self.tables)


@dataclass(frozen=True)
class Plan:
    """A planned cutover run: where its scripts are and what each step would change."""

    run_id: str
    run_dir: Path
    schema: str
    as_of: date
    created_at: str
    steps: tuple[StepPlan, ...]
    compare_run: dict[str, Any] | None
    settings: dict[str, Any]
    sha256: dict[str, str]
    left_as_is: dict[str, str] = field(default_factory=dict)
    #: a few before/after values per column from the dry run (:mod:`.examples`); in memory only
    examples: pl.DataFrame | None = field(default=None, compare=False, repr=False)

    def path(self, kind: str) -> Path:
        return self.run_dir / FILES[kind]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "schema": self.schema,
            "as_of": self.as_of.isoformat(),
            "created_at": self.created_at,
            "compare_run": self.compare_run,
            "settings": self.settings,
            "files": FILES,
            "sha256": self.sha256,
            "steps": [
                {
                    "step": s.number,
                    "id": s.id,
                    "name": s.name,
                    "title": s.title,
                    "rows": s.rows,
                    "cells": s.cells,
                    "inserted": s.inserted,
                    "tables": [
                        {
                            "table": t.table,
                            "updates": list(t.updates),
                            "inserts": t.inserts,
                            "rows": t.rows,
                            "cells": t.cells,
                            "inserted": t.inserted,
                            "added_columns": list(t.added_columns),
                            "missing": list(t.missing),
                            "compare": t.compare,
                        }
                        for t in s.tables
                    ],
                }
                for s in self.steps
            ],
            "left_as_is": self.left_as_is,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], run_dir: Path) -> Plan:
        steps = tuple(
            StepPlan(
                s["step"], s["name"], s["title"],
                tuple(
                    TablePlan(t["table"], tuple(t["updates"]), t["inserts"], t["rows"], t["cells"], t["inserted"],
                              tuple(t["added_columns"]), tuple(t["missing"]), dict(t["compare"]))
                    for t in s["tables"]
                ),
            )
            for s in data["steps"]
        )  # fmt: skip
        return cls(
            data["run_id"], Path(run_dir), data["schema"], date.fromisoformat(data["as_of"]), data["created_at"], steps,
            data.get("compare_run"), dict(data["settings"]), dict(data["sha256"]), dict(data.get("left_as_is") or {}),
        )

    def frame(self) -> pl.DataFrame:
        """One row per (step, table): what it writes and the rows, values and insertions counted."""
        rows = [
            {
                "step": s.id, "table": t.table, "updates": ", ".join(t.updates), "inserts": t.inserts,
                "rows": t.rows, "values": t.cells, "inserted": t.inserted,
                "compare_expected": sum(c.get("expected_changes", 0) for c in t.compare.values()) if t.compare else None,
            }
            for s in self.steps for t in s.tables
        ]  # fmt: skip
        schema = {"step": pl.String, "table": pl.String, "updates": pl.String, "inserts": pl.Boolean, "rows": pl.Int64,
                  "values": pl.Int64, "inserted": pl.Int64, "compare_expected": pl.Int64}  # fmt: skip
        return pl.DataFrame(rows, schema=schema)

    def summary(self) -> str:
        steps = "; ".join(f"{s.id}: {s.rows} rows ({s.cells} values, {s.inserted} inserted)" for s in self.steps)
        based = f" based on the compare of {self.compare_run.get('as_of')}" if self.compare_run else " (no compare run given)"
        return f"cutover run {self.run_id}{based}: {steps}"


def load(run_dir: Path | str) -> Plan:
    """The plan written into ``run_dir``."""
    path = Path(run_dir) / PLAN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"no readable cutover plan in {run_dir}: {exc}", hint="run the cutover with action=plan first") from exc
    return Plan.from_dict(data, Path(run_dir))


def read_script(plan: Plan, kind: str) -> str:
    """A script of the plan's folder, refused when it changed since the plan (its sha256)."""
    path = plan.path(kind)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}", hint="plan the cutover again") from exc
    if plan.sha256.get(kind) and digest(text) != plan.sha256[kind]:
        raise ConfigurationError(
            f"{path} changed since it was planned; the reviewed script is the one that runs",
            hint="plan the cutover again (into a new run folder) to apply a changed script",
        )
    return text


def require_idle(conn: psycopg.Connection, what: str) -> None:
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ConfigurationError(f"{what} needs a connection with no transaction in progress", hint="commit or roll back first, or pass a fresh connection")


def run_status(conn: psycopg.Connection, schema: str, run_id: str) -> str | None:
    """The run's status in ``cutover_runs`` (``None`` when never applied)."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (sql.Identifier(schema, sqlgen.RUNS).as_string(conn),)).fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute(sql.SQL("SELECT status FROM {} WHERE run_id = %s").format(sql.Identifier(schema, sqlgen.RUNS)), (run_id,)).fetchone()
    return row[0] if row else None


def _compare(compare_summary: Mapping[str, Any] | Path | str | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The summary and the reference to it stored in the plan."""
    if compare_summary is None:
        return None, None
    path = None
    if isinstance(compare_summary, Mapping):
        summary = dict(compare_summary)
    else:
        path = Path(compare_summary)
        summary = compare_summary_io.read(path)
        path = path if path.is_file() else path / compare_summary_io.FILE_NAME
    return summary, {"path": str(path) if path else None, "as_of": summary.get("as_of"), "gate": summary.get("gate")}


def _compare_counts(section: Section, summary: Mapping[str, Any] | None) -> dict[str, dict[str, int]]:
    if not summary:
        return {}
    fields = ((summary.get("tables") or {}).get(section.table.legacy) or {}).get("fields") or {}
    out = {}
    for w in section.written:
        f = fields.get(w.compare_field.split(".", 1)[1]) if w.compare_field else None
        if f:
            counts = {k: int(f.get(k, 0)) for k in ("compared", "mismatched", "real", "missing_in_blaze", "missing_in_existing", "format_only")}
            counts["expected_changes"] = counts["real"] + counts["missing_in_existing"] + counts["format_only"]
            out[w.column] = counts
    return out


def _run_id(run_dir: Path) -> str:
    stem = _RUN_CHARS.sub("-", run_dir.name).strip("-.")[:60] or "cutover"
    return f"{stem}-{secrets.token_hex(3)}"


def _check_folder(conn: psycopg.Connection, run_dir: Path) -> None:
    """Refuse to overwrite the plan of a run that was applied (its rollback lives there)."""
    if not (run_dir / PLAN_FILE).exists():
        return
    try:
        previous = json.loads((run_dir / PLAN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    status = run_status(conn, previous.get("schema", "public"), previous.get("run_id", ""))
    if status is not None:
        raise ConfigurationError(
            f"{run_dir} holds cutover run {previous.get('run_id')}, which is {status}",
            hint="plan into a new run folder; this one keeps the scripts of that run",
        )


def _batches(conn: psycopg.Connection, schema: str, sections: tuple[Section, ...], batch_size: int) -> dict[tuple[int, int], tuple[sqlgen.Range, ...]]:
    out: dict[tuple[int, int], tuple[sqlgen.Range, ...]] = {}
    cache: dict[str, tuple[sqlgen.Range, ...]] = {}
    for si, section in enumerate(sections):
        for ai, action in enumerate(section.actions):
            rel, col = sqlgen.batch_column(schema, action)
            key = f"{rel.as_string(conn)}.{col.as_string(conn)}"
            if key not in cache:
                bounds = [r[0] for r in conn.execute(sqlgen.boundaries_query(schema, action, batch_size)).fetchall()]
                cache[key] = sqlgen.ranges(bounds)
            out[(si, ai)] = cache[key]
    return out


def _header(run_id: str, schema: str, created_at: str, as_of: date, ref: dict[str, Any] | None, settings: dict[str, Any], counts: dict[tuple[str, str], Counts] | None, sections: tuple[Section, ...]) -> list[str]:
    if ref:
        gate = ref.get("gate") or {}
        based = f"Based on the compare run {ref.get('path') or '(given as data)'} (as of {ref.get('as_of')}, gate {'passed' if gate.get('passed') else 'FAILED'})."
    else:
        based = "No compare run was given."
    lines = [
        f"Blaze Migration Workbook: 04_cutover, run {run_id}",
        f"Generated from blaze_workbook.mapping for schema {schema!r} at {created_at}; days since last visit and churn risk as of {as_of}.",
        cutover_sql.comment(based),
        "Run it in ONE transaction, with its checks: psql -v ON_ERROR_STOP=1 --single-transaction -f cutover.sql -f verify.sql",
        "(the workbook's apply runs exactly this file, part by part, in one transaction, then verify.sql).",
        "Every replaced value goes to cutover_backup and every inserted row to cutover_inserted; rollback.sql undoes this run.",
        "No value is ever replaced by NULL or ''; a row is touched only when a value really changes.",
        f"Batches of {settings['batch_size']} keys; lock_timeout {settings['lock_timeout']}, statement_timeout {settings['statement_timeout']}.",
    ]
    if counts is not None:
        steps: dict[str, Counts] = {}
        for s in sections:
            c = counts.get((s.step.id, s.table.legacy), Counts())
            prev = steps.get(s.step.id, Counts())
            steps[s.step.id] = Counts(prev.rows + c.rows, prev.cells + c.cells, prev.inserted + c.inserted)
        lines.append("Planned: " + "; ".join(f"{k} {v.rows} rows ({v.cells} values, {v.inserted} inserted)" for k, v in steps.items()))
    return lines


def plan(
    conn: psycopg.Connection,
    run_dir: Path | str,
    steps: list[int | str] | tuple[int | str, ...] | None = None,
    compare_summary: Mapping[str, Any] | Path | str | None = None,
    *,
    schema: str = "public",
    rules: MetricsRules | None = None,
    as_of: date | None = None,
    batch_size: int = DEFAULT_BATCH,
    lock_timeout: str = "5s",
    statement_timeout: str = "15min",
    retention_days: int = 7,
) -> Plan:
    """Write cutover.sql, verify.sql, rollback.sql, finalize.sql and cutover_plan.json into ``run_dir``."""
    require_idle(conn, "planning the cutover")
    if "$" in schema:
        raise ConfigurationError(f"schema name {schema!r} holds '$', which the generated scripts cannot quote safely", hint="use another schema name")
    if int(batch_size) < 1:
        raise ConfigurationError(f"batch_size must be at least 1; got {batch_size!r}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    chosen = select_steps(steps)
    rules = rules or MetricsRules()
    as_of = as_of or datetime.now(ZoneInfo(rules.timezone)).date()
    summary, ref = _compare(compare_summary)
    run_id = _run_id(run_dir)
    created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    settings = {"batch_size": int(batch_size), "lock_timeout": str(lock_timeout), "statement_timeout": str(statement_timeout),
                "retention_days": int(retention_days), "rules": rules.describe(), "steps": [s.id for s in chosen]}  # fmt: skip
    with translated("planning the cutover (dry run, rolled back)"):
        with conn.transaction(force_rollback=True):
            _check_folder(conn, run_dir)
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (str(lock_timeout),))
            ctx = Context(schema, as_of, rules, read_catalog(conn, schema))
            sections = resolve(ctx, chosen)
            batches = _batches(conn, schema, sections, batch_size)
            common = dict(schema=schema, run_id=run_id, sections=sections, batches=batches, lock_timeout=str(lock_timeout),
                          statement_timeout=str(statement_timeout), planned_at=created_at, compare_run=(ref or {}).get("path"), summary=summary,
                          returning_old=conn.info.server_version >= RETURNING_OLD_SINCE)  # fmt: skip
            draft = render(conn, _header(run_id, schema, created_at, as_of, ref, settings, None, sections), cutover_sql.parts(**common))
            for part in parse(draft):
                if not part.empty:
                    with translated(f"dry run of cutover.sql, part {part.label}"):
                        conn.execute(part.body)
            counts = {
                (step, table): Counts(int(r), int(c), int(i))
                for step, table, r, c, i in conn.execute(
                    sql.SQL("SELECT step, table_name, rows_changed, cells_changed, rows_inserted FROM {} WHERE run_id = %s").format(sql.Identifier(schema, sqlgen.LOG)),
                    (run_id,),
                ).fetchall()
            }
            found = examples.read(conn, schema, run_id)
    texts = {
        "cutover": render(conn, _header(run_id, schema, created_at, as_of, ref, settings, counts, sections), cutover_sql.parts(**common, counts=counts)),
        "verify": render(
            conn,
            [f"Checks of cutover run {run_id}, run in its transaction after cutover.sql; a failed check rolls everything back."],
            verify_sql.parts(ctx, run_id, sections, counts, str(lock_timeout), str(statement_timeout)),
        ),
        "rollback": render(
            conn,
            [
                f"Rollback of cutover run {run_id}: psql -v ON_ERROR_STOP=1 --single-transaction -f rollback.sql",
                "Restores every value the run replaced and deletes every row it inserted, unless another application changed",
                "it since: such values and rows are kept and listed in cutover_conflicts. Works from cutover_backup alone.",
                "An _old column this run created is dropped once empty again (every table is then as before the run);",
                "an _old column that existed before stays (finalize.sql drops the backups for good).",
            ],
            rollback_sql.parts(ctx, run_id, sections, str(lock_timeout), str(statement_timeout)),
        ),
        "finalize": render(
            conn,
            [
                f"Finalize after cutover run {run_id}: REVIEW, then run by hand after the retention period ({retention_days} days).",
                "The workbook never runs this file. It drops the _old backup columns and the staging tables (and the views on them):",
                "after it no cutover can be rolled back, and 02_sync needs 01_setup again before it can stage anything.",
                "psql -v ON_ERROR_STOP=1 --single-transaction -f finalize.sql",
            ],
            rollback_sql.finalize_parts(ctx, run_id, retention_days),
        ),
    }
    for kind, text in texts.items():
        (run_dir / FILES[kind]).write_text(text, encoding="utf-8")
    result = Plan(
        run_id=run_id,
        run_dir=run_dir,
        schema=schema,
        as_of=as_of,
        created_at=created_at,
        steps=_step_plans(sections, counts, summary),
        compare_run=ref,
        settings=settings,
        sha256={kind: digest(text) for kind, text in texts.items()},
        left_as_is=dict(LEFT_AS_IS),
        examples=found,
    )
    (run_dir / PLAN_FILE).write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    return result


def _step_plans(sections: tuple[Section, ...], counts: Mapping[tuple[str, str], Counts], summary: Mapping[str, Any] | None) -> tuple[StepPlan, ...]:
    out: list[StepPlan] = []
    for spec in dict.fromkeys(s.step for s in sections):
        tables = []
        for s in (s for s in sections if s.step == spec):
            c = counts.get((spec.id, s.table.legacy), Counts())
            updates = tuple(w.column for a in s.actions if isinstance(a, Update) for w in a.writes)
            tables.append(
                TablePlan(s.table.legacy, updates, any(isinstance(a, Insert) for a in s.actions), c.rows, c.cells, c.inserted,
                          tuple(col for col, _ in s.add_columns), s.missing, _compare_counts(s, summary))
            )  # fmt: skip
        out.append(StepPlan(spec.number, spec.name, spec.title, tuple(tables)))
    return tuple(out)


__all__ = ["DEFAULT_BATCH", "FILES", "PLAN_FILE", "Plan", "StepPlan", "TablePlan", "load", "plan", "read_script", "require_idle", "run_status"]
