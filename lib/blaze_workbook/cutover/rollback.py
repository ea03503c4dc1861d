"""Roll back an applied cutover run with its own ``rollback.sql``, in one transaction.

The run is named by its folder or by its id; with an id alone the folder recorded at apply is
used, and when that is gone the copy of ``rollback.sql`` stored in ``cutover_runs`` at apply
time. Values another application changed after the cutover are kept and returned as
:class:`Conflict` rows (also in the ``cutover_conflicts`` table and ``rollback_conflicts.csv``).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import psycopg
from psycopg import sql

from ..errors import ConfigurationError
from ..mapping import TABLES
from ..postgres import translated
from . import sqlgen
from .plan import load, read_script, require_idle, run_status
from .rollback_sql import set_run
from .script import parse, run_parts

CONFLICTS_CSV = "rollback_conflicts.csv"
RESULT_FILE = "rollback_result.json"


@dataclass(frozen=True)
class Conflict:
    """A value (or, with column ``*``, an inserted row) changed after the cutover: kept, not rolled back."""

    table: str
    key: str
    column: str
    cutover_value: str | None
    current_value: str | None
    restore_value: str | None


@dataclass(frozen=True)
class RollbackResult:
    run_id: str
    already_rolled_back: bool
    restored: int
    removed: int
    conflicts: tuple[Conflict, ...]
    dropped_columns: tuple[str, ...]
    conflicts_csv: Path | None
    seconds: float

    def frame(self) -> pl.DataFrame:
        """The conflicts, one row each."""
        return pl.DataFrame([asdict(c) for c in self.conflicts], schema={k: pl.String for k in Conflict.__dataclass_fields__})

    def summary(self) -> str:
        if self.already_rolled_back:
            return f"cutover run {self.run_id} was already rolled back: nothing changed"
        text = f"cutover run {self.run_id} rolled back: {self.restored} values restored, {self.removed} inserted rows removed"
        if self.dropped_columns:
            text += f", {len(self.dropped_columns)} _old columns dropped"
        if self.conflicts:
            text += f"; {len(self.conflicts)} conflict(s) kept as they are now (changed after the cutover), listed in {CONFLICTS_CSV}"
        return text


def _resolve(conn: psycopg.Connection, run: Path | str, schema: str) -> tuple[str, str, Path | None, str]:
    """(run id, schema, run folder, rollback script) of a folder or a run id."""
    if isinstance(run, Path) or Path(str(run)).is_dir():
        plan = load(run)
        return plan.run_id, plan.schema, Path(run), read_script(plan, "rollback")
    run_id = str(run)
    with translated(f"looking up cutover run {run_id}"), conn.transaction():
        if run_status(conn, schema, run_id) is None:
            raise ConfigurationError(f"no applied cutover run {run_id!r} in schema {schema!r}", hint="give the run folder or an id from cutover_runs")
        run_dir, stored = conn.execute(
            sql.SQL("SELECT run_dir, rollback_sql FROM {} WHERE run_id = %s").format(sql.Identifier(schema, sqlgen.RUNS)), (run_id,)
        ).fetchone()
    folder = Path(run_dir) if run_dir and Path(run_dir).is_dir() else None
    if folder is not None and (folder / "rollback.sql").exists():
        return run_id, schema, folder, read_script(load(folder), "rollback")
    if not stored:
        raise ConfigurationError(f"cutover run {run_id} has no rollback script on record", hint="give its run folder")
    return run_id, schema, folder, stored


def _present_inserted(conn: psycopg.Connection, schema: str, run_id: str) -> int:
    """Rows the run inserted that are still there."""
    total = 0
    for t in TABLES:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {ins} AS i JOIN {t} AS t ON t.{lk}::text = i.key WHERE i.run_id = %s AND i.table_name = %s").format(
                ins=sql.Identifier(schema, sqlgen.INSERTED), t=sql.Identifier(schema, t.legacy), lk=sql.Identifier(t.legacy_key)
            ),
            (run_id, t.legacy),
        ).fetchone()
        total += int(row[0])
    return total


def _added_present(conn: psycopg.Connection, schema: str, run_id: str) -> list[str]:
    rows = conn.execute(
        sql.SQL(
            "SELECT a.table_name || '.' || a.column_name FROM {} AS a JOIN information_schema.columns AS c"
            " ON c.table_schema = %s AND c.table_name = a.table_name AND c.column_name = a.column_name WHERE a.run_id = %s ORDER BY 1"
        ).format(sql.Identifier(schema, sqlgen.ADDED)),
        (schema, run_id),
    ).fetchall()
    return [r[0] for r in rows]


def rollback(conn: psycopg.Connection, run: Path | str, *, schema: str = "public", out_dir: Path | str | None = None) -> RollbackResult:
    """Undo cutover run ``run`` (its folder or its id); conflicts are kept and reported."""
    require_idle(conn, "rolling back the cutover")
    run_id, schema, run_dir, text = _resolve(conn, run, schema)
    if set_run(run_id).as_string(conn) not in text:
        raise ConfigurationError(f"the rollback script found for run {run_id} belongs to another run", hint="give the run's own folder")
    started = time.monotonic()
    runs = sql.Identifier(schema, sqlgen.RUNS)
    with translated(f"rolling back cutover run {run_id}"), conn.transaction():
        status = run_status(conn, schema, run_id)
        if status == "rolled_back":
            return RollbackResult(run_id, True, 0, 0, (), (), None, 0.0)
        if status != "applied":
            raise ConfigurationError(f"cutover run {run_id} is {status or 'not applied'}: nothing to roll back")
        later = conn.execute(
            sql.SQL("SELECT string_agg(run_id, ', ') FROM {r} WHERE status = 'applied' AND applied_at > (SELECT applied_at FROM {r} WHERE run_id = %s)").format(r=runs),
            (run_id,),
        ).fetchone()[0]
        if later:
            raise ConfigurationError(f"cutover run(s) {later} were applied after {run_id}", hint="roll them back first, newest first")
        backups = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE run_id = %s").format(sql.Identifier(schema, sqlgen.BACKUP)), (run_id,)).fetchone()[0]
        present = _present_inserted(conn, schema, run_id)
        added = _added_present(conn, schema, run_id)
        run_parts(conn, parse(text), "rollback.sql")
        conflicts = tuple(
            Conflict(*r)
            for r in conn.execute(
                sql.SQL(
                    "SELECT table_name, key, column_name, cutover_value, current_value, restore_value FROM {} WHERE run_id = %s ORDER BY table_name, key, column_name"
                ).format(sql.Identifier(schema, sqlgen.CONFLICTS)),
                (run_id,),
            ).fetchall()
        )
        dropped = tuple(c for c in added if c not in _added_present(conn, schema, run_id))
    value_conflicts = sum(1 for c in conflicts if c.column != "*")
    row_conflicts = len(conflicts) - value_conflicts
    result_dir = Path(out_dir) if out_dir is not None else run_dir
    csv = None
    if result_dir is not None:
        result_dir.mkdir(parents=True, exist_ok=True)
        csv = result_dir / CONFLICTS_CSV
    result = RollbackResult(run_id, False, int(backups) - value_conflicts, present - row_conflicts, conflicts, dropped, csv, time.monotonic() - started)
    if csv is not None:
        result.frame().write_csv(csv)
        record = {"run_id": run_id, "rolled_back_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "restored": result.restored,
                  "removed": result.removed, "conflicts": len(conflicts), "dropped_columns": list(dropped), "seconds": round(result.seconds, 3)}  # fmt: skip
        (csv.parent / RESULT_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return result


__all__ = ["CONFLICTS_CSV", "Conflict", "RollbackResult", "rollback"]
