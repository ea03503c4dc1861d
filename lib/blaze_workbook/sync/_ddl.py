"""The warehouse's DuckDB schema, generated from the mapping (via the decoded frames' schema).

Typed tables are named like the Postgres staging tables and hold the same columns, plus the
decoder's bookkeeping (``_ref_*``, ``_ms_*``, ``_modified_ms``) and the warehouse's own
(``_run_id``, ``_seen_at``, ``_version``: the page that last changed the row's values).
Identifiers are generated from the mapping only and quoted; values always travel as
parameters.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from ..errors import ConfigurationError, LockedError
from ..mapping import TABLES, Table
from ._types import frame_schema, plan_for

#: bookkeeping the warehouse adds to every typed row
WAREHOUSE_COLUMNS: dict[str, str] = {"_run_id": "VARCHAR", "_seen_at": "TIMESTAMPTZ", "_version": "BIGINT"}


def q(name: str) -> str:
    """A quoted DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def duck_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    return {pl.String: "VARCHAR", pl.Boolean: "BOOLEAN", pl.Date: "DATE", pl.Int64: "BIGINT"}[type(dtype)]


def typed_columns(table: Table) -> dict[str, str]:
    """Column -> DuckDB type of ``table``'s typed table."""
    cols = {name: duck_type(t) for name, t in frame_schema(table).items()}
    cols.update(WAREHOUSE_COLUMNS)
    return cols


def compared_columns(table: Table) -> list[str]:
    """Columns whose difference makes a row *changed*: everything the record says.

    Shop-local dates are compared through their epoch milliseconds (``_ms_*``), since the date
    itself also depends on the time zone known when the row was written.
    """
    plan = plan_for(table)
    dates = {p.name for p in plan.local_dates}
    return [c for c in frame_schema(table) if c not in dates and c != "_modified_ms"]


def create_typed(table: Table) -> str:
    cols = ", ".join(f"{q(n)} {t}" for n, t in typed_columns(table).items())
    return f"CREATE TABLE IF NOT EXISTS {q(table.staging)} ({cols}, PRIMARY KEY ({q(table.key)}))"


SCHEMA: tuple[str, ...] = (
    # a body's bytes are in raw_parts (see _bodies.py); warehouses from before kept them in body
    "CREATE TABLE IF NOT EXISTS raw_bodies (sha256 VARCHAR PRIMARY KEY, codec VARCHAR NOT NULL, "
    "size BIGINT NOT NULL, body BLOB, page_id BIGINT)",
    "ALTER TABLE raw_bodies ALTER COLUMN body DROP NOT NULL",
    "ALTER TABLE raw_bodies ADD COLUMN IF NOT EXISTS page_id BIGINT",
    "CREATE TABLE IF NOT EXISTS raw_parts (page_id BIGINT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS raw_pages (page_id BIGINT PRIMARY KEY, run_id VARCHAR NOT NULL, "
    "entity VARCHAR NOT NULL, request JSON, fetched_at TIMESTAMPTZ NOT NULL, sha256 VARCHAR NOT NULL, "
    "state_update JSON, records INTEGER, quarantined INTEGER)",
    "CREATE TABLE IF NOT EXISTS quarantine (run_id VARCHAR, entity VARCHAR NOT NULL, record_id VARCHAR, "
    "reason VARCHAR NOT NULL, payload VARCHAR NOT NULL, payload_sha256 VARCHAR NOT NULL, \"at\" TIMESTAMPTZ, "
    "PRIMARY KEY (entity, payload_sha256, reason))",
    "CREATE TABLE IF NOT EXISTS state (entity VARCHAR PRIMARY KEY, watermark_ms BIGINT, cursor JSON, "
    "updated_at TIMESTAMPTZ)",
    "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, mode VARCHAR, started_at TIMESTAMPTZ, "
    "ended_at TIMESTAMPTZ, status VARCHAR, calls BIGINT, counts JSON)",
    "CREATE TABLE IF NOT EXISTS lookups (lookup VARCHAR NOT NULL, id VARCHAR NOT NULL, name VARCHAR, "
    "time_zone VARCHAR, opened_ms BIGINT, _run_id VARCHAR, _seen_at TIMESTAMPTZ, _version BIGINT, PRIMARY KEY (lookup, id))",
    # a warehouse from before the shop's opening was kept gets the column (empty until /store is read again)
    "ALTER TABLE lookups ADD COLUMN IF NOT EXISTS opened_ms BIGINT",
    "CREATE TABLE IF NOT EXISTS pushed (staging VARCHAR NOT NULL, target VARCHAR NOT NULL, version BIGINT NOT NULL, "
    "context VARCHAR NOT NULL, \"at\" TIMESTAMPTZ, PRIMARY KEY (staging, target))",
)
#: tables that hold what the raw pages say (rebuilt by replay)
DERIVED_TABLES: tuple[str, ...] = (*(t.staging for t in TABLES), "lookups", "quarantine", "state")

#: what DuckDB raises for a file that is not (or no longer) a sound database
DAMAGED = (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException, duckdb.FatalException)


def add_missing_columns(con: duckdb.DuckDBPyConnection, t: Table) -> None:
    """A column added to the mapping appears (empty) in an older warehouse; replay fills it."""
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = $t", {"t": t.staging}).fetchall()}
    for name, typ in typed_columns(t).items():
        if name not in have:
            con.execute(f"ALTER TABLE {q(t.staging)} ADD COLUMN {q(name)} {typ}")


#: DuckDB's file header: three 4 KiB blocks before the data blocks
_HEADER_BYTES = 3 * 4096


def check_length(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise :data:`DAMAGED` when the file is shorter than its own block count says (cut short).

    DuckDB opens such a file and fails only when a query reaches a missing block, deep inside a
    run. With a write-ahead log beside it the count may include blocks not yet written: not judged.
    """
    if Path(f"{path}.wal").exists():
        return
    _, _, block_size, total_blocks, *_ = con.execute(
        "SELECT * FROM pragma_database_size() WHERE database_name = current_database()").fetchone()
    need, have = _HEADER_BYTES + int(block_size) * int(total_blocks), path.stat().st_size
    if have < need:
        raise duckdb.IOException(f"the file holds {have:,} bytes of the {need:,} its blocks need (it was cut short)")


def open_error(path: Path, exc: duckdb.Error) -> Exception:
    text = str(exc)
    if "Could not set lock" in text or "Conflicting lock" in text:
        holder = text.split("Conflicting lock is held in", 1)[-1].split(". See also", 1)[0].strip() if "Conflicting" in text else ""
        return LockedError(
            f"the warehouse {path} is in use by another process" + (f" ({holder})" if holder else ""),
            hint="wait for the other sync to finish (or stop it) and run again",
        )
    return ConfigurationError(
        f"the warehouse {path} is not a readable DuckDB database: {text.splitlines()[0] if text else type(exc).__name__}",
        hint="it was damaged (a truncated or foreign file): move it aside; a new one is created and "
        "`mode=backfill` fetches the data again",
    )
