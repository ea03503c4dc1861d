"""Apply a planned cutover: the reviewed ``cutover.sql``, then ``verify.sql``, in ONE transaction.

What runs is the file in the run folder, refused if it changed since the plan (its sha256 is in
``cutover_plan.json``). A failed compare gate refuses the apply unless ``force``; a lock held
past ``lock_timeout`` fails with :class:`~blaze_workbook.errors.LockedError`; a failed check
raises :class:`~blaze_workbook.errors.InvestigateError`. In every failure the transaction is
rolled back and the database is as before. Applying a run a second time changes nothing and
says so.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import psycopg
from psycopg import sql

from ..errors import ConfigurationError, InvestigateError
from ..postgres import translated
from . import sqlgen, verify_sql
from .plan import FILES, load, read_script, require_idle, run_status
from .script import parse, run_parts
from .steps import step_by

APPLY_FILE = "cutover_apply.json"


class GateFailedError(ConfigurationError):
    """The latest compare gate failed, and the apply was not forced."""

    hint = "fix the discrepancies and run 03_compare again, or apply anyway with -p force=true (the report then says it was forced)"


@dataclass(frozen=True)
class LogRow:
    """One (step, table) of ``cutover_log``."""

    step: str
    table: str
    rows: int
    cells: int
    inserted: int
    checksum_before: str
    checksum_after: str
    seconds: float


@dataclass(frozen=True)
class ApplyResult:
    """What :func:`apply` did."""

    run_id: str
    already_applied: bool
    forced: bool
    gate_passed: bool
    log: tuple[LogRow, ...]
    seconds: float
    #: seconds spent in cutover.sql and in verify.sql (both inside the one transaction)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return 0 if self.already_applied else sum(r.rows for r in self.log)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame([asdict(r) for r in self.log], schema={
            "step": pl.String, "table": pl.String, "rows": pl.Int64, "cells": pl.Int64, "inserted": pl.Int64,
            "checksum_before": pl.String, "checksum_after": pl.String, "seconds": pl.Float64,
        })  # fmt: skip

    def summary(self) -> str:
        if self.already_applied:
            return f"cutover run {self.run_id} was already applied: nothing changed"
        forced = " (FORCED past a failed compare gate)" if self.forced and not self.gate_passed else ""
        return f"cutover run {self.run_id} applied{forced} in {self.seconds:.1f} s: {self.rows} rows changed, every check passed"


def _log(conn: psycopg.Connection, schema: str, run_id: str) -> tuple[LogRow, ...]:
    rows = conn.execute(
        sql.SQL(
            "SELECT step, table_name, rows_changed, cells_changed, rows_inserted, checksum_before, checksum_after,"
            " extract(epoch FROM finished_at - started_at)::float8 FROM {} WHERE run_id = %s ORDER BY started_at, step"
        ).format(sql.Identifier(schema, sqlgen.LOG)),
        (run_id,),
    ).fetchall()
    return tuple(LogRow(r[0], r[1], int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), r[5] or "", r[6] or "", float(r[7] or 0.0)) for r in rows)


def apply(
    conn: psycopg.Connection,
    run_dir: Path | str,
    gate_passed: bool,
    force: bool = False,
    *,
    fail_after_step: int | str | None = None,
) -> ApplyResult:
    """Run the planned cutover and its checks in one transaction; refuse on a failed gate unless forced.

    ``fail_after_step`` is a test hook: it raises after that step, inside the transaction.
    """
    plan = load(run_dir)
    if not gate_passed and not force:
        failing = ((plan.compare_run or {}).get("gate") or {}).get("failing_fields") or []
        raise GateFailedError(
            f"the latest compare gate failed{' on ' + ', '.join(failing) if failing else ''}: cutover run {plan.run_id} was not applied"
        )
    require_idle(conn, "applying the cutover")
    cutover = parse(read_script(plan, "cutover"))
    checks = [p for p in parse(read_script(plan, "verify")) if p.kind != "assert"]
    rollback_text = read_script(plan, "rollback")
    fail_after = step_by(fail_after_step).id if fail_after_step is not None else None
    started = time.monotonic()
    with translated(f"applying cutover run {plan.run_id}"), conn.transaction():
        status = run_status(conn, plan.schema, plan.run_id)
        if status == "applied":
            return ApplyResult(plan.run_id, True, bool(force), bool(gate_passed), _log(conn, plan.schema, plan.run_id), 0.0)
        if status is not None:
            raise ConfigurationError(f"cutover run {plan.run_id} is {status}; it cannot be applied again", hint="plan a new cutover run")
        run_parts(conn, cutover, "cutover.sql", fail_after)
        verify_started = time.monotonic()
        run_parts(conn, checks, "verify.sql")
        failures = conn.execute(verify_sql.failures_query()).fetchall()
        timings = {"cutover": verify_started - started, "verify": time.monotonic() - verify_started}
        if failures:
            details = "; ".join(f"{check}: {detail}" for check, detail in failures[:10])
            raise InvestigateError(
                f"cutover run {plan.run_id} failed verification ({len(failures)} finding(s)), nothing was changed: {details}",
                hint="if the counts differ, the data changed since the plan (a sync ran?): plan again; otherwise read the findings "
                "(a trigger on a table can change columns the cutover did not write)",
            )
        conn.execute(
            sql.SQL("UPDATE {} SET gate_passed = %s, forced = %s, run_dir = %s, rollback_sql = %s WHERE run_id = %s").format(
                sql.Identifier(plan.schema, sqlgen.RUNS)
            ),
            (bool(gate_passed), bool(force), str(Path(run_dir).resolve()), rollback_text, plan.run_id),
        )
        log = _log(conn, plan.schema, plan.run_id)
    result = ApplyResult(plan.run_id, False, bool(force), bool(gate_passed), log, time.monotonic() - started, timings)
    record = {"run_id": plan.run_id, "applied_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "forced": result.forced,
              "gate_passed": result.gate_passed, "seconds": round(result.seconds, 3),
              "timings": {k: round(v, 3) for k, v in timings.items()}, "log": [asdict(r) for r in log]}  # fmt: skip
    (Path(run_dir) / APPLY_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return result


def latest_applied(conn: psycopg.Connection, schema: str = "public") -> tuple[str, str | None] | None:
    """The run id and folder of the latest applied (not rolled back) run, for ``action=rollback``'s default."""
    with translated("looking up the latest applied cutover run"), conn.transaction():
        if not _has_runs(conn, schema):
            return None
        row = conn.execute(
            sql.SQL("SELECT run_id, run_dir FROM {} WHERE status = 'applied' ORDER BY applied_at DESC LIMIT 1").format(sql.Identifier(schema, sqlgen.RUNS))
        ).fetchone()
    return (row[0], row[1]) if row else None


def _has_runs(conn: psycopg.Connection, schema: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (sql.Identifier(schema, sqlgen.RUNS).as_string(conn),)).fetchone()
    return bool(row and row[0])


__all__ = ["APPLY_FILE", "FILES", "ApplyResult", "GateFailedError", "LogRow", "apply", "latest_applied"]
