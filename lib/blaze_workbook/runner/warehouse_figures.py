"""Figures for ``status`` from the sync warehouse, read-only and defensively.

Each table (``state``, ``quarantine``, ``api_calls``, ``runs``, ``*staging*``) is optional and
its columns are found by name candidates; anything missing leaves its figure ``None`` and a note.
TODO(sync warehouse): swap the candidates for the warehouse's own names once its schema is fixed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from .status import (
    _CALL_COLUMNS,
    _ENTITY_COLUMNS,
    _REASON_COLUMNS,
    _TIME_COLUMNS,
    _WATERMARK_COLUMNS,
    ApiUsage,
    StatusReport,
    age,
    as_utc,
    project_month,
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema() ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {str(name).lower(): str(kind).upper() for name, kind in rows}


def _pick(columns: dict[str, str], candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c in columns), None)


def _as_timestamp_sql(column: str, kind: str) -> str:
    """SQL turning ``column`` into a TIMESTAMPTZ: epoch ms/s integers, timestamps or ISO text."""
    col = _quote(column)
    if any(k in kind for k in ("INT", "DOUBLE", "DECIMAL", "FLOAT", "REAL")):
        return f"to_timestamp(CASE WHEN abs({col}) > 1e11 THEN {col} / 1000.0 ELSE {col} END)"
    if "TIMESTAMP" in kind and "TIME ZONE" not in kind:
        return f"timezone('UTC', {col})"
    return f"TRY_CAST({col} AS TIMESTAMPTZ)"


def read_warehouse(path: Path, report: StatusReport) -> None:
    """Fill ``report``'s warehouse figures from ``path``; note, never raise, what is missing."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        report.notes.append(f"warehouse not readable now ({type(exc).__name__}: a sync may hold it)")
        return
    try:
        con.execute("SET TimeZone = 'UTC'")
        tables = {str(t).lower() for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()}
        _watermarks(con, tables, report)
        _api_usage(con, tables, report)
        _staging(con, tables, report)
        _quarantine(con, tables, report)
    except duckdb.Error as exc:
        report.notes.append(f"warehouse figures incomplete ({type(exc).__name__}: {exc})")
    finally:
        con.close()


def _watermarks(con: duckdb.DuckDBPyConnection, tables: set[str], report: StatusReport) -> None:
    if "state" not in tables:
        report.notes.append("no watermarks yet (table state missing)")
        return
    cols = _columns(con, "state")
    entity, mark = _pick(cols, _ENTITY_COLUMNS), _pick(cols, _WATERMARK_COLUMNS)
    if not entity or not mark:
        report.notes.append(f"table state has no entity/watermark columns ({', '.join(cols)})")
        return
    rows = con.execute(f"SELECT {_quote(entity)}, {_quote(mark)} FROM state ORDER BY 1").fetchall()
    report.watermarks = [
        (str(name), (when.isoformat(timespec="seconds") if (when := as_utc(value)) else str(value)),
         age(when, report.now))
        for name, value in rows
    ]


def _api_usage(con: duckdb.DuckDBPyConnection, tables: set[str], report: StatusReport) -> None:
    for table in ("api_calls", "runs"):
        if table not in tables:
            continue
        cols = _columns(con, table)
        when = _pick(cols, _TIME_COLUMNS)
        calls = _pick(cols, _CALL_COLUMNS)
        if not when or (table == "runs" and not calls):
            continue
        stamp = _as_timestamp_sql(when, cols[when])
        amount = f"coalesce({_quote(calls)}, 0)" if calls else "1"
        now = report.now
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        window, today, month = con.execute(
            f"SELECT coalesce(sum({amount}) FILTER (WHERE t >= $w), 0), "
            f"coalesce(sum({amount}) FILTER (WHERE t >= $d), 0), "
            f"coalesce(sum({amount}) FILTER (WHERE t >= $m), 0) "
            f"FROM (SELECT *, {stamp} AS t FROM {table}) WHERE t <= $n",
            {"w": now - dt.timedelta(minutes=5), "d": day, "m": day.replace(day=1), "n": now},
        ).fetchone() or (0, 0, 0)
        report.api = ApiUsage(int(window), int(today), int(month), project_month(int(month), now),
                              f"warehouse table {table}")
        return


def _staging(con: duckdb.DuckDBPyConnection, tables: set[str], report: StatusReport) -> None:
    names = sorted(t for t in tables if "staging" in t)
    if not names:
        report.notes.append("no staging tables in the warehouse yet")
        return
    report.staging = [(t, int(con.execute(f"SELECT count(*) FROM {_quote(t)}").fetchone()[0])) for t in names]


def _quarantine(con: duckdb.DuckDBPyConnection, tables: set[str], report: StatusReport) -> None:
    if "quarantine" not in tables:
        report.quarantine = []
        return
    cols = _columns(con, "quarantine")
    entity, reason = _pick(cols, _ENTITY_COLUMNS), _pick(cols, _REASON_COLUMNS)
    entity_sql = _quote(entity) if entity else "'all'"
    reason_sql = _quote(reason) if reason else "''"
    rows = con.execute(
        f"SELECT CAST({entity_sql} AS VARCHAR), CAST({reason_sql} AS VARCHAR), count(*) "
        "FROM quarantine GROUP BY ALL ORDER BY 3 DESC, 1, 2"
    ).fetchall()
    report.quarantine = [(str(e), str(r), int(n)) for e, r, n in rows]
